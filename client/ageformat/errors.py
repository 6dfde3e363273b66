"""The errors of the age format: `AgeError`, naming the stage that failed, and `KeyFormatError`,
a key string (recipient or identity) that does not parse, naming the field and the rule.

Their texts name a stage, a line, a chunk number or a rule, never key material, a recipient or a
byte of plaintext: an identity is a secret and a recipient ties a file to a partner, so a message
may be shown to a user and recorded. This package imports nothing of the gateway's; the gateway's
error table (gateway/errors.py) knows these classes as safe texts of invalid input.
"""

from __future__ import annotations

from typing import Literal

# What failed: a key or identity file given to us ("key"), or a stage of reading a file. The age
# test vectors tell the file stages apart (header failure, no match, HMAC failure, payload
# failure), and so can a caller that reports "wrong key" differently from "damaged file".
AgeStage = Literal["key", "header", "no match", "mac", "payload"]


class AgeError(ValueError):
    """An age file or key that cannot be used; the message says what failed, never key material."""

    def __init__(self, stage: AgeStage, message: str) -> None:
        super().__init__(message)
        self.stage: AgeStage = stage


class KeyFormatError(AgeError):
    """A key string breaking `rule` at `field` (the caller's name for where it came from, such as
    ``recipients[0].age_recipient``); the message is ``<field>: <rule>``, never the key."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__("key", f"{field}: {rule}")
        self.field = field
        self.rule = rule
