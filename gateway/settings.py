"""The gateway's one settings object: typed, frozen, layered, checked at start.

Layers, lowest first: the defaults in `Settings` < a TOML file (path in `PKS_GATEWAY_CONFIG`) <
`PKS_GATEWAY_<KEY>` environment variables < what a caller (a test, `create_app`) passes. A key no
layer knows, or a value of the wrong type, fails at start with the key named. Database URLs may
carry passwords, so `describe()` and `repr()` show them redacted.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from agreements.errors import Invalid, SafeError
from agreements.roles import delivery_roles
from agreements.workflow import Role
from gateway.limits import SETTINGS_FILE, InputRefused, read_limited_text

ENV_PREFIX = "PKS_GATEWAY_"
CONFIG_ENV = "PKS_GATEWAY_CONFIG"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_PROXY_HOPS = 10


class SettingsError(SafeError, ValueError):
    """A setting is unknown, malformed or unusable; the message names the key and the layer."""


def default_config_dir() -> Path:
    """Where the shipped defaults (catalog, regions, examples) live.

    In a wheel they travel as `gateway/default_config` (see pyproject.toml); in a source checkout,
    including the editable install used for development, they are the repository's `config/`.
    """
    packaged = Path(__file__).resolve().parent / "default_config"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "config"


@dataclass(frozen=True)
class Settings:
    """Every setting of the gateway; docs/configuration.md describes each one."""

    home: Path = Path("var")
    database_url: str = ""  # empty: SQLite file gateway.db in the data directory
    source_url: str = ""  # empty: the demo Dukcapil database demo-source.db in the data directory
    catalog_path: Path | None = None  # None: the shipped config/catalog.toml
    regions_path: Path | None = None  # None: the shipped config/wilayah_paser.csv
    timezone: str = "Asia/Makassar"
    # Cuti bersama: extra days off beyond the public holidays, comma-separated ISO dates.
    days_off: str = ""
    audit_origin: str = "paserkab.go.id/pks-gateway/audit"
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    # Step 8 is the Petugas ADB's; this may widen it to other staff roles, never to compliance.
    delivery_roles: str = "petugas_adb"
    # The job queue: empty keeps it in a SQLite file in the data directory (one machine); a
    # redis:// URL lets workers on several machines share it.
    jobs_redis_url: str = ""
    worker_threads: int = 1  # deliveries one worker runs at once
    # Scheduled deliveries fire from this hour (WITA) of their period's first working day.
    schedule_hour: int = 7
    retention_days: int = 30  # delivery files are deleted this many days after publication
    # Days a semester report may be late before the gateway suspends the agreement.
    report_grace_days: int = 14
    # NIK verification calls per partner token (the `limits` notation: 60/minute, 1000/day).
    nik_verification_rate: str = "60/minute"
    # Reverse proxies in front of the gateway whose X-Forwarded-For is believed (the partner
    # API's ip_allow); 0: the connection's peer is the caller.
    trusted_proxy_hops: int = 0
    # The web UI: a session ends after this many idle minutes, or this many hours after login.
    web_session_idle_minutes: int = 30
    web_session_hours: int = 12
    # Session cookies are Secure (sent over HTTPS only; browsers also accept them from
    # http://127.0.0.1 and localhost). Only a test over plain HTTP from elsewhere turns this off.
    web_cookie_secure: bool = True
    # Notifications by e-mail: the office's SMTP relay (empty: in the web UI only), its port,
    # the sender address, and whether to upgrade the connection with STARTTLS.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "pks-gateway@paserkab.go.id"
    smtp_starttls: bool = False
    # The office's letters (gateway/letters/, docs/letters.md): the kop surat (letterhead), where
    # letters are dated, the paper, and who signs them. An empty name or NIP prints a dotted line.
    letter_government: str = "PEMERINTAH KABUPATEN PASER"
    letter_office: str = "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL"
    letter_office_name: str = "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Paser"
    letter_address: str = "Tana Paser, Kabupaten Paser, Kalimantan Timur"
    letter_contact: str = "Laman: disdukcapil.paserkab.go.id"
    letter_place: str = "Tana Paser"
    letter_logo_path: Path | None = None  # PNG or JPEG at the letterhead's left; None: no logo
    letter_paper: str = "A4"  # A4 or F4 (folio, 215 x 330 mm)
    signatory_title: str = "Kepala Dinas Kependudukan dan Pencatatan Sipil Kabupaten Paser"
    signatory_name: str = ""
    signatory_rank: str = ""  # pangkat/golongan, e.g. Pembina Utama Muda (IV/c)
    signatory_nip: str = ""  # 18 digits; spaces between groups are kept as written

    # --- derived places -------------------------------------------------------------------
    @property
    def days_off_dates(self) -> tuple[date, ...]:
        return tuple(date.fromisoformat(d.strip()) for d in self.days_off.split(",") if d.strip())

    @property
    def delivery_role_set(self) -> frozenset[Role]:
        return delivery_roles(self.delivery_roles)

    @property
    def metadata_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'gateway.db'}"

    @property
    def source_database_url(self) -> str:
        return self.source_url or f"sqlite:///{self.demo_source_path}"

    @property
    def demo_source_path(self) -> Path:
        return self.home / "demo-source.db"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def deliveries_dir(self) -> Path:
        return self.home / "deliveries"

    @property
    def documents_dir(self) -> Path:
        """The document store: letters and signed documents under their SHA-256."""
        return self.home / "documents"

    @property
    def work_dir(self) -> Path:
        """Where running deliveries keep their working files (re-identification spills)."""
        return self.home / "work"

    @property
    def locks_dir(self) -> Path:
        """The lock a running delivery holds (`<id>.lock`), so recovery tells it from a crash."""
        return self.work_dir / "locks"

    @property
    def subjects_dir(self) -> Path:
        """Which NIK hashes each delivery held (`subject deliveries` reads it): the gateway's own,
        outside the partner-facing deliveries directory."""
        return self.home / "subjects"

    @property
    def catalog_file(self) -> Path:
        return self.catalog_path or default_config_dir() / "catalog.toml"

    @property
    def regions_file(self) -> Path:
        return self.regions_path or default_config_dir() / "wilayah_paser.csv"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> dict[str, str]:
        """Each setting as text for people to read, with passwords in URLs hidden."""
        shown = {f.name: _show(getattr(self, f.name)) for f in _fields()}
        shown["database_url"] = redact_url(self.metadata_url)
        shown["source_url"] = redact_url(self.source_database_url)
        shown["jobs_redis_url"] = redact_url(self.jobs_redis_url) if self.jobs_redis_url else ""
        shown["catalog_path"] = str(self.catalog_file)
        shown["regions_path"] = str(self.regions_file)
        return shown

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"Settings({inner})"


def redact_url(url: str) -> str:
    """A database URL safe to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from the layers described in the module docstring."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_path = env.get(CONFIG_ENV)
    if config_path:
        values.update(_from_toml(Path(config_path)))
    values.update(_from_environment(env))
    for key, value in (overrides or {}).items():
        values[key] = _coerce(key, value, "arguments")
    settings = Settings(**values)
    return _checked(_anchored(settings))


# --- layers -----------------------------------------------------------------------------------
def _fields() -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(Settings))


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in _fields()}


def _from_toml(path: Path) -> dict[str, Any]:
    source = f"config file {path}"
    if not path.exists():
        raise SettingsError(f"{CONFIG_ENV} points to {path}, which does not exist")
    try:
        raw = tomllib.loads(read_limited_text(path, SETTINGS_FILE))
    except InputRefused as exc:
        raise SettingsError(str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{source} is not valid TOML: {exc}") from None
    except RecursionError:
        raise SettingsError(f"{source} is nested too deeply to be settings") from None
    return {key: _coerce(key, value, source) for key, value in raw.items()}


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        values[key] = _coerce(key, value, f"environment variable {name}")
    return values


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _coerce(key: str, value: Any, source: str) -> Any:
    types_by_key = _field_types()
    if key not in types_by_key:
        known = ", ".join(sorted(types_by_key))
        raise SettingsError(f"unknown setting {key!r} in {source}; known settings: {known}")
    wanted = types_by_key[key]
    optional = isinstance(wanted, types.UnionType) and type(None) in typing.get_args(wanted)
    base = next(a for a in typing.get_args(wanted) if a is not type(None)) if optional else wanted
    if optional and value in ("", None):
        return None
    if base is Path and isinstance(value, str | Path):
        return Path(value).expanduser()
    if base is int:
        if isinstance(value, bool):
            raise SettingsError(f"setting {key!r} in {source} must be an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        raise SettingsError(f"setting {key!r} in {source} must be an integer")
    if base is str and isinstance(value, str):
        return value
    if base is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
            return _BOOLEANS[value.strip().lower()]
        raise SettingsError(f"setting {key!r} in {source} must be true or false")
    raise SettingsError(f"setting {key!r} in {source} must be {getattr(base, '__name__', base)}")


def _anchored(settings: Settings) -> Settings:
    # Relative paths are resolved once, at start, so that a later chdir cannot move the data.
    def absolute(path: Path | None) -> Path | None:
        return None if path is None else path.expanduser().resolve()

    return dataclasses.replace(
        settings,
        home=settings.home.expanduser().resolve(),
        catalog_path=absolute(settings.catalog_path),
        regions_path=absolute(settings.regions_path),
        letter_logo_path=absolute(settings.letter_logo_path),
    )


def _checked(settings: Settings) -> Settings:
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"setting 'timezone' is not a known time zone: {settings.timezone!r}"
        ) from None
    if settings.log_level.upper() not in LOG_LEVELS:
        raise SettingsError(f"setting 'log_level' must be one of {', '.join(LOG_LEVELS)}")
    if not 0 < settings.port < 65536:
        raise SettingsError("setting 'port' must be between 1 and 65535")
    if not 0 <= settings.schedule_hour <= 23:
        raise SettingsError("setting 'schedule_hour' must be an hour, 0 to 23")
    if not 1 <= settings.retention_days <= 3660:
        raise SettingsError("setting 'retention_days' must be between 1 and 3660 (ten years)")
    try:
        if settings.nik_verification_rate != Settings.nik_verification_rate:
            from limits import parse  # loaded only for a rate someone wrote: start-up stays quick

            parse(settings.nik_verification_rate)
    except ValueError:
        raise SettingsError(
            "setting 'nik_verification_rate' must be a rate such as 60/minute or 1000/day"
        ) from None
    if not 0 <= settings.report_grace_days <= 365:
        raise SettingsError("setting 'report_grace_days' must be between 0 and 365")
    if not 1 <= settings.worker_threads <= 64:
        raise SettingsError("setting 'worker_threads' must be between 1 and 64")
    if settings.jobs_redis_url and not settings.jobs_redis_url.startswith(
        ("redis://", "rediss://")
    ):
        raise SettingsError("setting 'jobs_redis_url' must be a redis:// or rediss:// URL")
    if not 0 <= settings.trusted_proxy_hops <= MAX_PROXY_HOPS:
        raise SettingsError(f"setting 'trusted_proxy_hops' must be between 0 and {MAX_PROXY_HOPS}")
    if not 1 <= settings.web_session_idle_minutes <= 24 * 60:
        raise SettingsError("setting 'web_session_idle_minutes' must be between 1 and 1440")
    if not 1 <= settings.web_session_hours <= 7 * 24:
        raise SettingsError("setting 'web_session_hours' must be between 1 and 168 (a week)")
    if not 0 < settings.smtp_port < 65536:
        raise SettingsError("setting 'smtp_port' must be between 1 and 65535")
    if "@" not in settings.smtp_from or "\n" in settings.smtp_from:
        raise SettingsError("setting 'smtp_from' must be one e-mail address")
    for key in ("database_url", "source_url"):
        url = getattr(settings, key)
        if url:
            try:
                make_url(url).get_dialect()
            except ArgumentError:
                raise SettingsError(f"setting {key!r} is not a SQLAlchemy database URL") from None
            except NoSuchModuleError:
                raise SettingsError(
                    f"setting {key!r} names a database driver SQLAlchemy does not know "
                    "(e.g. postgresql+psycopg://…, mysql+pymysql://…, sqlite:///…)"
                ) from None
    try:
        _ = settings.days_off_dates
    except ValueError:
        message = "setting 'days_off' must be comma-separated dates (YYYY-MM-DD)"
        raise SettingsError(message) from None
    if not settings.audit_origin.strip() or "\n" in settings.audit_origin:
        raise SettingsError("setting 'audit_origin' must be one non-empty line")
    try:
        _ = settings.delivery_role_set
    except Invalid as error:
        raise SettingsError(f"setting {error.message}") from None
    _check_letters(settings)
    return dataclasses.replace(settings, log_level=settings.log_level.upper())


LETTER_TEXTS = (
    "letter_government",
    "letter_office",
    "letter_office_name",
    "letter_address",
    "letter_contact",
    "letter_place",
    "signatory_title",
    "signatory_name",
    "signatory_rank",
)
LETTER_REQUIRED = ("letter_government", "letter_office", "letter_office_name", "letter_place")
LETTER_PAPERS = ("A4", "F4")


def _check_letters(settings: Settings) -> None:
    for key in LETTER_TEXTS:
        value = getattr(settings, key)
        if len(value) > 200 or not value.isprintable():  # a line break is not printable
            raise SettingsError(f"setting {key!r} must be one line of at most 200 characters")
        if key in LETTER_REQUIRED and not value.strip():
            raise SettingsError(f"setting {key!r} must not be empty: letters print it")
    if settings.letter_paper not in LETTER_PAPERS:
        raise SettingsError(f"setting 'letter_paper' must be one of {', '.join(LETTER_PAPERS)}")
    nip = settings.signatory_nip.replace(" ", "")
    if settings.signatory_nip and not (nip.isascii() and nip.isdigit() and len(nip) == 18):
        raise SettingsError("setting 'signatory_nip' must be an 18-digit NIP (spaces allowed)")


def _show(value: Any) -> str:
    return "" if value is None else str(value)
