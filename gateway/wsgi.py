"""The WSGI entry point for a production server: `gunicorn 'gateway.wsgi:app'`.

The settings come from the environment (`PKS_GATEWAY_CONFIG`, `PKS_GATEWAY_*`), as for every
command. Unlike `pks-gateway serve`, this runs no job worker: run `pks-gateway worker` as its own
service (docs/operations.md).
"""

from __future__ import annotations

from gateway.app import create_app
from gateway.log_config import configure_logging
from gateway.settings import load_settings

settings = load_settings()
configure_logging(settings.log_level)
app = create_app(settings)
