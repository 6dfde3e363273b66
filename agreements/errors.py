"""The domain errors every layer above raises and the gateway maps to HTTP statuses and CLI exits.

Four kinds, one meaning each: `NotFound` (no such id), `NotPermitted` (this actor may not do this),
`Invalid` (the input breaks a named rule at a named field), `Conflict` (the input is fine but the
current state does not allow it: a step out of order, a signed scope edited). `BadSignature` is an
`Invalid` whose field is the signature, so callers can tell it apart without a fifth status.

Messages name ids and field paths, never values, keys or tokens: an error text may end up in a log,
an HTTP response or an audit entry, where population data must never appear.
"""

from __future__ import annotations


class SafeError(Exception):
    """An error whose text we wrote to name fields, ids, files and rules, never values, keys or
    tokens: safe to show to a user and to record (gateway/errors.py reads this mark)."""


class DomainError(SafeError):
    """Base of the four kinds; `message` is safe to show (no values)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """No `kind` with this id exists (or the actor may not know that it does)."""

    def __init__(self, kind: str, ident: str, message: str | None = None) -> None:
        super().__init__(message or f"{kind} {ident!r} not found")
        self.kind = kind
        self.ident = ident


class NotPermitted(DomainError):
    """The actor's role does not allow this action."""

    def __init__(self, message: str, *, role: str | None = None, action: str | None = None) -> None:
        super().__init__(message)
        self.role = role
        self.action = action


class Invalid(DomainError):
    """Input breaking `rule` at `field` (a dotted path such as ``elements.nik.mask``)."""

    def __init__(self, field: str, rule: str, message: str | None = None) -> None:
        super().__init__(message or f"{field}: {rule}")
        self.field = field
        self.rule = rule


class BadSignature(Invalid):
    """A signature that does not verify: malformed, wrong namespace, unknown or revoked key, or
    made over different bytes. `rule` says which."""

    def __init__(self, rule: str, message: str | None = None, *, field: str = "signature") -> None:
        super().__init__(field, rule, message)


class Conflict(DomainError):
    """The request is well-formed but the current state forbids it."""


class Tampered(DomainError):
    """Stored state differs from what the gateway sealed, signed or kept outside the database: a
    row written, changed or restored behind the gateway's back, or an audit log that no longer
    extends its kept checkpoint. Verification failed; nothing may be delivered on it."""
