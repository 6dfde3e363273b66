"""Fixtures of the partner API tests: a real gateway home (tests/office.py) with a signed
agreement, its first delivery and a partner token, served by the Flask test client
(tests/api/partners.py).

`partner` is per test, on SQLite and PostgreSQL, for tests that change state (suspend, revoke,
rotate, edit rows). `served` is one home per module (SQLite), for tests that only read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.partners import Partner, issue, with_quota
from tests.harness import SHORT
from tests.office import Office, current_example


@pytest.fixture
def partner(office: Office) -> Partner:
    """The example agreement signed, delivered once, and a token for its one recipient."""
    office.agree()
    assert office.extract().exit_code == 0
    return Partner(office, issue(office, SHORT))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Partner]:
    """One home for a module's read-only tests: three deliveries of the example agreement."""
    office = Office(tmp_path_factory.mktemp("served"), {})
    office.agree(with_quota(current_example(), 3))
    for _ in range(3):
        assert office.extract().exit_code == 0
    try:
        yield Partner(office, issue(office, SHORT))
    finally:
        office.engine.dispose()
