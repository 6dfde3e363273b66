"""Settings: layering, strictness, redaction, and that the docs list every setting."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gateway.settings import Settings, SettingsError, default_config_dir, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_defaults_put_everything_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings({"home": tmp_path}, environ={})
    assert settings.metadata_url == f"sqlite:///{tmp_path / 'gateway.db'}"
    assert settings.source_database_url == f"sqlite:///{tmp_path / 'demo-source.db'}"
    assert settings.keys_dir == tmp_path / "keys"
    assert settings.catalog_file == default_config_dir() / "catalog.toml"
    assert settings.timezone == "Asia/Makassar"


def test_layers_toml_below_environment_below_arguments(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('port = 9001\nhost = "0.0.0.0"\ntimezone = "Asia/Jakarta"\n')
    environ = {"PKS_GATEWAY_CONFIG": str(config), "PKS_GATEWAY_PORT": "9002"}
    settings = load_settings({"timezone": "Asia/Jayapura"}, environ=environ)
    assert settings.host == "0.0.0.0"  # noqa: S104  (from the file)
    assert settings.port == 9002  # environment beats file
    assert settings.timezone == "Asia/Jayapura"  # arguments beat everything


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PKS_GATEWAY_COLOUR": "blue"}, "'colour'"),
        ({"PKS_GATEWAY_PORT": "eighty"}, "'port'"),
        ({"PKS_GATEWAY_PORT": "70000"}, "'port'"),
        ({"PKS_GATEWAY_TIMEZONE": "Mars/Olympus"}, "'timezone'"),
        ({"PKS_GATEWAY_LOG_LEVEL": "LOUD"}, "'log_level'"),
        ({"PKS_GATEWAY_DATABASE_URL": "not a url"}, "'database_url'"),
        ({"PKS_GATEWAY_AUDIT_ORIGIN": "two\nlines"}, "'audit_origin'"),
    ],
)
def test_bad_settings_fail_naming_the_key(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ=environ)


def test_toml_unknown_key_and_wrong_type_are_named(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("prot = 80\n")
    with pytest.raises(SettingsError, match=r"unknown setting 'prot' in config file"):
        load_settings(environ={"PKS_GATEWAY_CONFIG": str(config)})
    config.write_text('port = "eighty"\n')
    with pytest.raises(SettingsError, match="'port'"):
        load_settings(environ={"PKS_GATEWAY_CONFIG": str(config)})
    config.write_text("port = [\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(environ={"PKS_GATEWAY_CONFIG": str(config)})
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(environ={"PKS_GATEWAY_CONFIG": str(tmp_path / "missing.toml")})


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings({"home": tmp_path}, environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


def test_passwords_never_shown(tmp_path: Path) -> None:
    url = "postgresql+psycopg://gw:s3cret-pw@db.example/pks"
    settings = load_settings({"home": tmp_path, "database_url": url}, environ={})
    assert "s3cret-pw" not in repr(settings)
    assert "s3cret-pw" not in str(settings.describe())
    assert "***" in settings.describe()["database_url"]


def test_relative_home_is_anchored_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"home": "data"}, environ={})
    assert settings.home == tmp_path / "data"


def test_every_setting_is_documented_and_in_the_example_file() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text()
    example = (REPO / "config" / "gateway.example.toml").read_text()
    for field in dataclasses.fields(Settings):
        assert f"`{field.name}`" in doc, f"docs/configuration.md does not describe {field.name}"
        assert f"PKS_GATEWAY_{field.name.upper()}" in doc
        assert f"{field.name} =" in example, f"gateway.example.toml lacks {field.name}"


def test_example_file_loads(tmp_path: Path) -> None:
    example = REPO / "config" / "gateway.example.toml"
    settings = load_settings(environ={"PKS_GATEWAY_CONFIG": str(example)})
    assert settings.port > 0
