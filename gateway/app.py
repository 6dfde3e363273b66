"""The Flask application factory: one app per settings object, nothing built at import time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text

from gateway import __version__
from gateway.api import register_api
from gateway.context import now
from gateway.db import is_current, metadata_engine
from gateway.settings import Settings, load_settings
from gateway.web import register_web


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = now,
    **overrides: Any,
) -> Flask:
    """Build the app from `settings`, or from the layered settings plus `overrides`. `clock` is
    the office clock its routes read (app.extensions["pks_clock"]): the real time from the
    composition root, or a fixed one in tests."""
    settings = settings or load_settings(overrides)
    app = Flask(__name__)
    app.extensions["pks_settings"] = settings
    app.extensions["pks_engine"] = metadata_engine(settings.metadata_url)
    app.extensions["pks_clock"] = clock

    @app.get("/health")
    def health() -> Any:
        # Reports readiness without revealing anything an anonymous caller should not learn.
        engine = app.extensions["pks_engine"]
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            migrated = is_current(engine)
        except Exception:  # any database failure means "not ready", never a 500 with details
            app.logger.exception("health check: metadata database unavailable")
            return jsonify(status="unavailable", version=__version__), 503
        if not migrated:
            return jsonify(status="needs-migration", version=__version__), 503
        return jsonify(status="ok", version=__version__)

    register_api(app)
    register_web(app)
    return app
