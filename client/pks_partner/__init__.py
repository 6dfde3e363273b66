"""The partner client of PKS Gateway, installable without the server (`pip install ./client`).

    from pks_partner import Client, load_as_pandas
    frame = load_as_pandas("https://gateway.example", token, "partner.agekey")

Its modules: the HTTP client (`client`, over `transport`), a delivery's download with its checks
(`download`, `known_keys`, `identity`), loading into pyarrow or pandas (`load`), NIK verification
from CSV (`nik`), the `pks-partner` command (`cli`); and the formats a partner checks, which the
gateway builds and verifies with the same code: the manifest (`manifest`, `verify`), SSHSIG
(`sshsig`), and the audit log's Merkle proofs and signed checkpoints (`merkle`, `checkpoint`,
`tlog_proof`, `consistency`, `leaf`). The names below load their module when first used, so that
the gateway, importing a format module, loads nothing of the HTTP side.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pks_partner.client import Agreement, Client, Delivery, load_as_arrow, load_as_pandas
    from pks_partner.download import Downloaded
    from pks_partner.errors import (
        ApiError,
        KeyChanged,
        PartnerError,
        TransportError,
        VerificationFailed,
    )
    from pks_partner.verify import DeliveryCheck, verify_delivery

_HOMES = {
    "Agreement": "client",
    "Client": "client",
    "Delivery": "client",
    "load_as_arrow": "client",
    "load_as_pandas": "client",
    "Downloaded": "download",
    "ApiError": "errors",
    "KeyChanged": "errors",
    "PartnerError": "errors",
    "TransportError": "errors",
    "VerificationFailed": "errors",
    "DeliveryCheck": "verify",
    "verify_delivery": "verify",
}
__all__ = [
    "Agreement",
    "ApiError",
    "Client",
    "Delivery",
    "DeliveryCheck",
    "Downloaded",
    "KeyChanged",
    "PartnerError",
    "TransportError",
    "VerificationFailed",
    "load_as_arrow",
    "load_as_pandas",
    "verify_delivery",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pks_partner' has no attribute {name!r}")
    return getattr(importlib.import_module(f"pks_partner.{home}"), name)
