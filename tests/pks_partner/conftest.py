"""Fixtures of the partner client's tests: no PKS_PARTNER_* setting of the developer's leaks in,
known keys go to the test's own folder, and a fake gateway serves one delivery
(tests/pks_partner/fake_gateway.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pks_partner.client import Client
from tests.pks_partner.fake_gateway import TOKEN, Delivery, FakeGateway, Knobs, make_delivery


@pytest.fixture(autouse=True)
def _partner_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("PKS_PARTNER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PKS_PARTNER_KNOWN_KEYS", str(tmp_path / "known_keys"))


@pytest.fixture
def delivery() -> Delivery:
    return make_delivery()


@pytest.fixture
def knobs() -> Knobs:
    return Knobs()


@pytest.fixture
def gateway(delivery: Delivery, knobs: Knobs) -> Iterator[FakeGateway]:
    with FakeGateway(delivery, knobs) as served:
        yield served


@pytest.fixture
def client(gateway: FakeGateway, delivery: Delivery) -> Client:
    return Client(gateway.url, TOKEN, identity=delivery.identity)
