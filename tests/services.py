"""Where tests find the local database servers and system tools, and what happens when one is
absent.

The URLs come only from the environment (`PKS_TEST_POSTGRES_URL`, `PKS_TEST_MARIADB_URL`). Without
one a test skips and says which variable is missing; in CI (`PKS_REQUIRE_SERVICES=1`) it fails,
so that a broken service cannot hide behind a skip (`unavailable`, which tools such as `age` and
the browser tests' Chromium go through too).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _service_url(variable: str, what: str) -> str:
    url = os.environ.get(variable, "").strip()
    if url:
        return url
    unavailable(f"{what} tests need {variable} (a SQLAlchemy URL of a test database)")


def unavailable(message: str) -> NoReturn:
    """Skip the test saying what it lacks, or fail it in CI (`PKS_REQUIRE_SERVICES=1`)."""
    if os.environ.get("PKS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message}; PKS_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
    pytest.skip(message)


def postgres_url() -> str:
    """The PostgreSQL test URL, or skip/fail as described in the module docstring."""
    return _service_url("PKS_TEST_POSTGRES_URL", "PostgreSQL")


def mariadb_url() -> str:
    """The MariaDB test URL, or skip/fail as described in the module docstring."""
    return _service_url("PKS_TEST_MARIADB_URL", "MariaDB")


def require_tool(command: str, package: str) -> str:
    """The path of an external tool (age, ssh-keygen), or skip/fail like the database URLs."""
    import shutil

    path = shutil.which(command)
    if path:
        return path
    unavailable(f"needs the `{command}` command (Debian package {package})")


@contextmanager
def scratch_database(server_url: str, prefix: str = "pks_test") -> Iterator[str]:
    """A fresh, empty database on a PostgreSQL or MariaDB server (its URL), dropped afterwards."""
    base = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            force = " WITH (FORCE)" if base.get_backend_name() == "postgresql" else ""
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
        admin.dispose()


def server_url(kind: str) -> str:
    """`postgres` or `mariadb`: that server's test URL (skips or fails as above)."""
    return postgres_url() if kind == "postgres" else mariadb_url()


# Parametrise a fixture with these to run a test on both servers, each with its marker.
SERVER_PARAMS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]
