"""One error table: each kind of error a user can meet, its CLI exit code, HTTP status, RFC 9457
problem type and message code, read by the CLI, the delivery failure record and (coming) the
Flask error handler alike.

An error's kind is found by walking its class's MRO to the first class the table names, so a
subclass (BadSignature is an Invalid) can have a kind of its own. Whether its text may be shown
and recorded is a separate question with one answer: it is, exactly when the error is a
`SafeError` (agreements/errors.py; our own texts name fields, ids and rules, never values) or one
of the errors of packages that cannot import that class: the audit log's and the partner client's
checkpoint and manifest errors (whose texts name seqs, checkpoint ids and manifest fields) and the
age format's `AgeError` (stages, lines, chunk numbers and rules, never key material). Anything
else — a driver's error could quote a value — is shown by its class.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from ageformat.errors import AgeError
from agreements.errors import (
    BadSignature,
    Conflict,
    Invalid,
    NotFound,
    NotPermitted,
    SafeError,
    Tampered,
)
from audit.log import LogIntegrityError
from exports.reading.source import SourceQueryError, SourceUnavailable
from gateway.db import MetadataUnavailable
from gateway.keys import KeyFileError
from pks_partner.checkpoint import CheckpointError
from pks_partner.manifest import ManifestFormatError

PROBLEM_BASE = "https://pks-gateway.paserkab.go.id/problems/"


@dataclass(frozen=True)
class ErrorKind:
    code: str  # the message code a translated UI looks up
    exit_code: int
    http_status: int
    title: str

    @property
    def problem_type(self) -> str:
        """The RFC 9457 `type` URI."""
        return PROBLEM_BASE + self.code.replace("_", "-")


VERIFICATION_FAILED = ErrorKind("verification_failed", 1, 422, "Verification failed")
USAGE = ErrorKind("usage", 2, 400, "Bad usage")
INVALID_INPUT = ErrorKind("invalid_input", 3, 422, "Invalid input")
NOT_PERMITTED = ErrorKind("not_permitted", 4, 403, "Not permitted")
NOT_FOUND = ErrorKind("not_found", 5, 404, "Not found")
CONFLICT = ErrorKind("conflict", 6, 409, "Conflict with the current state")
UNAVAILABLE = ErrorKind("unavailable", 7, 503, "Source or database unavailable")

KINDS = (
    VERIFICATION_FAILED,
    USAGE,
    INVALID_INPUT,
    NOT_PERMITTED,
    NOT_FOUND,
    CONFLICT,
    UNAVAILABLE,
)

# Most specific first does not matter: the MRO walk finds the nearest class.
TABLE: dict[type[BaseException], ErrorKind] = {
    BadSignature: VERIFICATION_FAILED,
    Tampered: VERIFICATION_FAILED,
    CheckpointError: VERIFICATION_FAILED,
    LogIntegrityError: VERIFICATION_FAILED,
    Invalid: INVALID_INPUT,
    NotPermitted: NOT_PERMITTED,
    NotFound: NOT_FOUND,
    FileNotFoundError: NOT_FOUND,
    Conflict: CONFLICT,
    FileExistsError: CONFLICT,
    OperationalError: UNAVAILABLE,
    SourceUnavailable: UNAVAILABLE,
    SourceQueryError: UNAVAILABLE,
    KeyFileError: UNAVAILABLE,
    MetadataUnavailable: UNAVAILABLE,
    OSError: UNAVAILABLE,
    AgeError: INVALID_INPUT,  # a key or an age file that cannot be used
    ManifestFormatError: INVALID_INPUT,
    SafeError: INVALID_INPUT,  # our own errors not named above: bad files, keys, settings
}

SAFE_OUTSIDE = (CheckpointError, LogIntegrityError, AgeError, ManifestFormatError)


def kind_of(error: BaseException) -> ErrorKind | None:
    """The error's kind, or None for one the table does not know (a bug, not a user's error)."""
    for cls in type(error).__mro__:
        if cls in TABLE:
            return TABLE[cls]
    return None


def is_safe(error: BaseException) -> bool:
    """Whether the error's text may be shown and recorded (see the module docstring)."""
    return isinstance(error, (SafeError, *SAFE_OUTSIDE))


def shown(error: BaseException) -> str:
    """What a user and the records are told: the text of a safe error; of an OS error its errno
    name and file; of anything else only its class, since a driver's text could quote a value."""
    if is_safe(error):
        return str(error)
    if isinstance(error, OSError) and error.errno is None:
        return str(error)  # the OS sets errno: without one, the text is ours (a path, a reason)
    if isinstance(error, OSError) and error.errno is not None:
        import errno

        name = errno.errorcode.get(error.errno, str(error.errno))
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror or type(error).__name__} [{name}]{where}"
    return type(error).__name__
