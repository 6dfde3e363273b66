"""The `pks-gateway` command: one group, one error wrapper, one module per subject.

Every command loads the layered settings once (`pks-gateway --help` lists the subjects). Known
failures (bad settings, unusable keys, an unreachable source, a bad catalog, a source value of
the wrong type) print one line naming the problem and exit 1; nothing prints a traceback at an
officer.
"""

from __future__ import annotations

from typing import Any

import click

from agreements.catalog import CatalogError
from agreements.errors import DomainError
from exports.age import AgeError
from exports.batch_shape import SourceValueError
from exports.demo_source import DemoSourceError
from exports.formats import FormatError
from exports.readers import SourceQueryError
from exports.source import SourceUnavailable
from gateway.keys import KeyFileError
from gateway.log_config import configure_logging
from gateway.settings import Settings, SettingsError, load_settings

EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    SettingsError,
    KeyFileError,
    SourceUnavailable,
    DemoSourceError,
    CatalogError,
    DomainError,
    FileExistsError,
    PermissionError,
    OSError,  # a full disk, an unreadable file: the text names the errno and path
    AgeError,
    FormatError,
    SourceQueryError,
    SourceValueError,  # a source value that does not fit its element; names the element only
)


class GatewayGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EXPECTED_ERRORS as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=GatewayGroup)
@click.version_option(package_name="pks-gateway")
@click.pass_context
def main(ctx: click.Context) -> None:
    """PKS Gateway: population data delivered under signed cooperation agreements (PKS).

    Settings come from PKS_GATEWAY_CONFIG (a TOML file) and PKS_GATEWAY_* variables; see
    docs/configuration.md.
    """
    settings = load_settings()
    configure_logging(settings.log_level)
    ctx.obj = settings


def settings_of(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _register() -> None:
    # Imported here, not at the top, so that each module can import `main`'s helpers above.
    from gateway.cli import (
        admin,
        agreements,
        audit,
        catalog,
        deliveries,
        demo,
        demo_agreement,
        requests,
        staff,
    )

    modules = (admin, demo, demo_agreement, catalog, staff, requests, agreements, deliveries, audit)
    for module in modules:
        for command in module.COMMANDS:
            main.add_command(command)


_register()
