"""The gateway's Flask app served over real HTTP for tests that need a socket (schemathesis, the
browser tests): waitress, what `pks-gateway serve` runs, on 127.0.0.1 and a free port, in a
thread of the test process, and always stopped.

`serve(app)` serves an app that is already built and yields its base URL; `live_gateway(home)`
builds one with `gateway.app.create_app` for a gateway home (or a settings object), serves it,
and disposes of its engine afterwards. Both are context managers, for a fixture of any scope to
wrap (tests/web/conftest.py `live_server` starts them per test).

A request that raises in a view (a 500) is recorded in `LiveServer.errors`, since a browser
only shows a page and the exception would stay in the server's log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, got_request_exception, request
from waitress import wasyncore
from waitress.server import create_server

from gateway.app import create_app
from gateway.context import now
from gateway.settings import Settings

HOST = "127.0.0.1"  # never another interface: the tests' data and tokens stay on this machine


@contextmanager
def serve(app: Flask, *, threads: int = 4, name: str = "test-waitress") -> Iterator[str]:
    """Serve `app` with waitress on 127.0.0.1 and a free port until the block ends; yields the
    base URL (`http://127.0.0.1:PORT`, no trailing slash). The socket listens before the block
    starts, so a first request cannot be refused."""
    served = create_server(app, host=HOST, port=0, threads=threads)
    thread = threading.Thread(target=served.run, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{served.effective_port}"
    finally:
        # What waitress does on a signal: stop its workers and close every socket of its map
        # (the listening one and the clients' kept-alive ones), which ends its loop. Closing only
        # the listening socket left a kept-alive client in the loop and the join waited 10 s.
        served.task_dispatcher.shutdown()
        wasyncore.close_all(served._map)
        thread.join(timeout=10)
        assert not thread.is_alive(), "waitress did not stop"


@dataclass
class LiveServer:
    """A gateway app served on 127.0.0.1: `base` is its URL, `url(path)` a page's."""

    app: Flask
    base: str
    errors: list[str] = field(default_factory=list)  # "METHOD path: ExceptionType: message"

    @property
    def home(self) -> Path:
        home: Path = self.app.extensions["pks_settings"].home
        return home

    def url(self, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"a path from the server's root, like /api/v1/docs: {path!r}")
        return self.base + path


class StartServer(Protocol):
    """What the `live_server` fixture is: `live_gateway`'s arguments, a started `LiveServer`."""

    def __call__(
        self, home: Path | Settings, *, clock: Callable[[], datetime] = ..., **overrides: Any
    ) -> LiveServer: ...


@contextmanager
def live_gateway(
    home: Path | Settings, *, clock: Callable[[], datetime] = now, **overrides: Any
) -> Iterator[LiveServer]:
    """`create_app` for a gateway home (with `overrides` of its settings) or for a settings
    object, on `clock`, served by `serve`; the app's engine is disposed of once the server has
    stopped."""
    if isinstance(home, Settings):
        if overrides:
            raise TypeError("settings given: put the overrides in them")
        app = create_app(home, clock=clock)
    else:
        app = create_app(home=home, clock=clock, **overrides)
    server = LiveServer(app, "")

    def record(sender: Flask, exception: BaseException, **extra: object) -> None:
        server.errors.append(
            f"{request.method} {request.path}: {type(exception).__name__}: {exception}"
        )

    got_request_exception.connect(record, app)
    try:
        with serve(app, name="live-gateway") as base:
            server.base = base
            yield server
    finally:
        got_request_exception.disconnect(record, app)
        app.extensions["pks_engine"].dispose()
