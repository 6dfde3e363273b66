"""The age v1 file format (c2sp.org/age), X25519 recipients, binary files, both ways.

Self-contained: it depends on `cryptography` and the standard library only and imports nothing of
the gateway's, because the partner client ships it to partners without the server
(docs/decisions/0004-exports-rooms.md). The gateway encrypts deliveries with `AgeWriter`;
partners (and the gateway's own `delivery decrypt`) read them with `decrypt_chunks` or
`decrypt_file`. Modules: `errors` (AgeError, KeyFormatError), `recipients` (Bech32, `age1...`),
`keys` (identities, fingerprints), `header` (stanzas, MAC), `stream` (the STREAM payload),
`files` (writer and readers). docs/encryption.md describes the format as we use it.
"""

from __future__ import annotations

from ageformat.errors import AgeError, KeyFormatError
from ageformat.files import AgeWriter, decrypt_chunks, decrypt_file
from ageformat.keys import (
    X25519Identity,
    generate_identity,
    load_identities,
    parse_identity,
    recipient_fingerprint,
)
from ageformat.recipients import decode_age_recipient, encode_age_recipient
from ageformat.stream import CHUNK_SIZE

__all__ = [
    "CHUNK_SIZE",
    "AgeError",
    "AgeWriter",
    "KeyFormatError",
    "X25519Identity",
    "decode_age_recipient",
    "decrypt_chunks",
    "decrypt_file",
    "encode_age_recipient",
    "generate_identity",
    "load_identities",
    "parse_identity",
    "recipient_fingerprint",
]
