"""The client's errors: each says in one line what failed and why.

Texts name delivery ids, files, fields, checks and key fingerprints — never a token, a secret key
or a population value — so that a partner can paste them into a ticket for the office.
"""

from __future__ import annotations

from collections.abc import Sequence


class PartnerError(Exception):
    """Anything the client refuses or could not do; `str(error)` is the one line to show."""


class ApiError(PartnerError):
    """The gateway answered with an error: its RFC 9457 problem's title and detail."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        code: str = "",
        retry_after: float | None = None,  # seconds, when the gateway named them
    ) -> None:
        said = f"the gateway answered {status} {title}"
        super().__init__(f"{said}: {detail}" if detail else said)
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code
        self.retry_after = retry_after


class TransportError(PartnerError):
    """The gateway could not be reached, or a response stopped or was not what HTTP promised."""


class VerificationFailed(PartnerError):
    """A delivery, manifest or file that does not verify; `failed` names the checks."""

    def __init__(self, message: str, failed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.failed = tuple(failed)


class KeyChanged(VerificationFailed):
    """The gateway signs with another key than the one pinned for it (as ssh's known_hosts)."""
