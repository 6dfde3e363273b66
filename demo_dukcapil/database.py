"""Build the demo Dukcapil source database: SIAK-shaped tables full of synthetic Paser people.

The tables are those of docs/source-schema.md, defined once with SQLAlchemy Core so the same
definition creates them on SQLite, PostgreSQL and MariaDB. People come from `demo_dukcapil.people`
in batches and go in through the raw driver (executemany, or COPY on PostgreSQL), which is what
makes a million rows take seconds rather than minutes. Nothing half-built looks complete: SQLite is
built in a temporary file renamed into place at the end; a server database is filled in one
transaction, and what was created is dropped again on failure.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    CHAR,
    Column,
    Connection,
    Date,
    DateTime,
    Index,
    MetaData,
    SmallInteger,
    String,
    Table,
    create_engine,
    insert,
    inspect,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.schema import CreateTable

from agreements.errors import SafeError
from demo_dukcapil.people import FAMILY_COLUMNS, PEOPLE_COLUMNS, Batch, DemoPopulation
from demo_dukcapil.regions import Regions
from demo_dukcapil.regions import load_regions as load_regions

PASER_POPULATION_2024 = 309_667
HOUSEHOLDS_PER_BATCH = 25_000  # ~95k people: a few hundred MB at most, and few round trips

METADATA = MetaData()


def _s(name: str) -> Column[Any]:
    return Column(name, SmallInteger)


def _v(name: str, length: int, nullable: bool = True) -> Column[Any]:
    return Column(name, String(length), nullable=nullable)


def _keys(*names: str) -> list[Column[Any]]:
    return [Column(name, SmallInteger, primary_key=True, autoincrement=False) for name in names]


BIODATA_WNI = Table(
    "BIODATA_WNI",
    METADATA,
    Column("NIK", String(16), primary_key=True),
    _v("NO_KK", 16, nullable=False),
    _v("NAMA_LGKP", 60),
    *(_s("JENIS_KLMIN"), _v("TMPT_LHR", 60), Column("TGL_LHR", Date)),
    *(_s(c) for c in ("GOL_DRH", "AGAMA", "STAT_KWN", "STAT_HBKEL", "KLAIN_FSK")),
    *(_s("PDDK_AKH"), _s("JENIS_PKRJN")),
    *(_v("NIK_IBU", 16), _v("NAMA_LGKP_IBU", 60), _v("NIK_AYAH", 16), _v("NAMA_LGKP_AYAH", 60)),
    _v("ALAMAT_SBLM", 120),
    *(_s("AKTA_LHR"), _v("NO_AKTA_LHR", 30)),
    *(_s("AKTA_KWN"), _v("NO_AKTA_KWN", 30), Column("TGL_KWN", Date)),
    *(_s("AKTA_CRAI"), _v("NO_AKTA_CRAI", 30), Column("TGL_CRAI", Date)),
    *(_s(c) for c in ("NO_PROP", "NO_KAB", "NO_KEC", "NO_KEL", "STAT_HIDUP")),
    *(Column("TGL_ENTRI", DateTime), Column("TGL_UBAH", DateTime), Column("FLAG_STATUS", CHAR(1))),
)
Index("IX_BIODATA_WNI_NO_KK", BIODATA_WNI.c.NO_KK)
DATA_KELUARGA = Table(
    "DATA_KELUARGA",
    METADATA,
    Column("NO_KK", String(16), primary_key=True),
    *(_v("NAMA_KEP", 60), _v("ALAMAT", 120), _s("NO_RT"), _s("NO_RW"), _v("DUSUN", 60)),
    _v("KODE_POS", 5),
    *(_s(c) for c in ("NO_PROP", "NO_KAB", "NO_KEC", "NO_KEL")),
    *(Column("TGL_INSERTION", DateTime), Column("TGL_UPDATION", DateTime)),
)
CODES: dict[str, Sequence[str]] = {
    "AGAMA_MASTER": (
        *("Islam", "Kristen", "Katholik", "Hindu", "Budha", "Khonghucu"),
        "Kepercayaan/Lainnya",
    ),
    "KWN_MASTER": ("Belum Kawin", "Kawin", "Cerai Hidup", "Cerai Mati"),
    "SHDK": (
        *("Kepala Keluarga", "Suami", "Istri", "Anak", "Menantu", "Cucu", "Orang Tua"),
        *("Mertua", "Famili Lain", "Pembantu", "Lainnya"),
    ),
    "PDDKN_MASTER": (
        *("Tidak/Belum Sekolah", "Belum Tamat SD", "Tamat SD", "SLTP", "SLTA"),
        *("Diploma I/II", "Akademi/D-III", "D-IV/S1", "S2", "S3"),
    ),
    "GOLDRH_MASTER": (
        *("A", "B", "AB", "O", "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"),
        "Tidak Tahu",
    ),
    "CCT_MASTER": (
        *("Cacat Fisik", "Cacat Netra/Buta", "Cacat Rungu/Wicara", "Cacat Mental/Jiwa"),
        *("Cacat Fisik dan Mental", "Cacat Lainnya"),
    ),
}
# DOMAIN.md §5 lists these occupation codes; the others of 1-89 are not published there.
JOB_NAMES = {
    **{1: "Belum/Tidak Bekerja", 2: "Mengurus Rumah Tangga", 3: "Pelajar/Mahasiswa"},
    **{4: "Pensiunan", 5: "PNS", 6: "TNI", 7: "POLRI", 8: "Perdagangan", 9: "Petani/Pekebun"},
    **{10: "Peternak", 11: "Nelayan", 15: "Karyawan Swasta", 16: "BUMN", 17: "BUMD"},
    **{18: "Honorer", 19: "Buruh Harian Lepas", 65: "Guru", 72: "Dokter", 84: "Pedagang"},
    **{85: "Perangkat Desa", 86: "Kepala Desa", 88: "Wiraswasta", 89: "Lainnya"},
}
CODE_TABLES = {
    name: Table(name, METADATA, *_keys("NO"), _v("DESCRIP", 60))
    for name in (*CODES, "PKRJN_MASTER")
}


SETUP_PROP = Table("SETUP_PROP", METADATA, *_keys("NO_PROP"), _v("NAMA_PROP", 60))
SETUP_KAB = Table("SETUP_KAB", METADATA, *_keys("NO_PROP", "NO_KAB"), _v("NAMA_KAB", 60))
SETUP_KEC = Table("SETUP_KEC", METADATA, *_keys("NO_PROP", "NO_KAB", "NO_KEC"), _v("NAMA_KEC", 60))
SETUP_KEL = Table(
    "SETUP_KEL", METADATA, *_keys("NO_PROP", "NO_KAB", "NO_KEC", "NO_KEL"), _v("NAMA_KEL", 60)
)


class DemoSourceError(SafeError, RuntimeError):
    """The demo database cannot be built there; the message names the place, never a password."""


@dataclass(frozen=True)
class DemoSummary:
    people: int
    families: int
    url_redacted: str
    seconds: float


def build_demo_source(
    url: str,
    *,
    rows: int = PASER_POPULATION_2024,
    seed: int = 1,
    regions_csv: Path,
    progress: Callable[[int, int], None] | None = None,
    today: datetime.date | None = None,
    replace: bool = False,
) -> DemoSummary:
    """Build `rows` synthetic people (whole households, the last one maybe cut) at `url`."""
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError("rows must be a positive integer")
    started = time.monotonic()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DemoSourceError("the target is not a SQLAlchemy database URL") from None
    population = DemoPopulation(
        seed=seed, regions=load_regions(regions_csv), today=today or datetime.date.today()
    )
    build = _build_sqlite if parsed.get_backend_name() == "sqlite" else _build_server
    people, families = build(parsed, population, rows, progress, replace)
    return DemoSummary(people, families, redacted(parsed), time.monotonic() - started)


def redacted(url: URL) -> str:
    return url.render_as_string(hide_password=True)


Fill = tuple[int, int]


def _fill(
    conn: Connection,
    population: DemoPopulation,
    rows: int,
    progress: Callable[[int, int], None] | None,
) -> Fill:
    """Create the tables in `conn`'s database and fill them; indexes come after the data."""
    for table in METADATA.sorted_tables:
        conn.execute(CreateTable(table))
    _insert_reference(conn, population.regions)
    raw = conn.connection.dbapi_connection
    assert raw is not None  # an open Connection always has its DBAPI connection
    done = families = index = 0
    while done < rows:
        batch = population.batch(index, HOUSEHOLDS_PER_BATCH, rows - done)
        _insert_batch(raw, conn.dialect.name, batch)
        done, families, index = done + batch.n_people, families + batch.n_families, index + 1
        if progress is not None:
            progress(done, rows)
    for table in METADATA.sorted_tables:
        for index_ in table.indexes:
            index_.create(conn)
    return done, families


def _insert_batch(raw: Any, dialect: str, batch: Batch) -> None:
    for table, columns, values in (
        (DATA_KELUARGA, FAMILY_COLUMNS, batch.families),
        (BIODATA_WNI, PEOPLE_COLUMNS, batch.people),
    ):
        rows = zip(*values, strict=True)
        cursor = raw.cursor()
        try:
            if dialect == "postgresql":
                names = ", ".join(f'"{c}"' for c in columns)
                with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(
                    _insert_sql(dialect, table.name, columns),
                    list(rows) if dialect != "sqlite" else rows,
                )
        finally:
            cursor.close()


def _insert_sql(dialect: str, table: str, columns: Sequence[str]) -> str:
    mark, quote = ("?", '"') if dialect == "sqlite" else ("%s", "`")
    names = ", ".join(f"{quote}{c}{quote}" for c in columns)
    return (
        f"INSERT INTO {quote}{table}{quote} ({names}) VALUES ({', '.join([mark] * len(columns))})"
    )


def _insert_reference(conn: Connection, regions: Regions) -> None:
    for name, descriptions in CODES.items():
        conn.execute(
            insert(CODE_TABLES[name]),
            [{"NO": i, "DESCRIP": d} for i, d in enumerate(descriptions, 1)],
        )
    conn.execute(
        insert(CODE_TABLES["PKRJN_MASTER"]), [{"NO": k, "DESCRIP": v} for k, v in JOB_NAMES.items()]
    )
    conn.execute(insert(SETUP_PROP), [{"NO_PROP": 64, "NAMA_PROP": regions.prop_name.upper()}])
    conn.execute(
        insert(SETUP_KAB), [{"NO_PROP": 64, "NO_KAB": 1, "NAMA_KAB": regions.kab_name.upper()}]
    )
    kec = [
        {"NO_PROP": 64, "NO_KAB": 1, "NO_KEC": int(k), "NAMA_KEC": n.upper()}
        for k, n in zip(regions.kec_no, regions.kec_names, strict=True)
    ]
    conn.execute(insert(SETUP_KEC), kec)
    kel = [
        {"NO_PROP": 64, "NO_KAB": 1, "NO_KEC": int(c), "NO_KEL": int(k), "NAMA_KEL": n.upper()}
        for c, k, n in zip(regions.vil_kec, regions.vil_kel, regions.vil_names, strict=True)
    ]
    conn.execute(insert(SETUP_KEL), kel)


def _build_sqlite(
    url: URL,
    population: DemoPopulation,
    rows: int,
    progress: Callable[[int, int], None] | None,
    replace: bool,
) -> Fill:
    if not url.database or url.database == ":memory:":
        raise DemoSourceError("the demo source needs a SQLite file, not an in-memory database")
    target = Path(url.database)
    if target.exists() and not replace:
        raise FileExistsError(f"{target} already exists; pass replace=True to overwrite it")
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".building", dir=target.parent
        )
    except OSError as exc:
        raise DemoSourceError(f"cannot write in {target.parent}: {exc.strerror}") from None
    os.close(handle)
    temp = Path(name)
    try:
        engine = create_engine(URL.create("sqlite", database=str(temp)))
        try:
            with engine.connect() as conn:
                # No journal and no fsync while building: a crash leaves only the temp file.
                conn.exec_driver_sql("PRAGMA journal_mode=OFF")
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-65536")  # 64 MiB keeps the NIK index hot
                filled = _fill(conn, population, rows, progress)
                conn.commit()
        finally:
            engine.dispose()
    except (DBAPIError, sqlite3.Error) as exc:
        temp.unlink(missing_ok=True)
        # SQLite's messages name the problem (disk full, constraint), never a value.
        reason = (str(getattr(exc, "orig", exc)).strip() or type(exc).__name__).splitlines()[0]
        raise DemoSourceError(f"building {target} failed: {reason}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    try:
        if replace:
            os.replace(temp, target)
        else:
            _publish_without_clobbering(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return filled


def _publish_without_clobbering(temp: Path, target: Path) -> None:
    try:
        # A hard link fails if the target appeared meanwhile, where a rename would clobber it.
        os.link(temp, target)
    except FileExistsError:
        raise FileExistsError(f"{target} appeared during the build; it was left alone") from None
    except OSError:  # no hard links on this file system: check, then rename
        if target.exists():
            raise FileExistsError(
                f"{target} appeared during the build; it was left alone"
            ) from None
        os.replace(temp, target)
        return
    temp.unlink()


def _build_server(
    url: URL,
    population: DemoPopulation,
    rows: int,
    progress: Callable[[int, int], None] | None,
    replace: bool,
) -> Fill:
    try:
        engine = create_engine(url)
    except (NoSuchModuleError, ArgumentError):
        raise DemoSourceError(f"no database driver for {redacted(url)}") from None
    try:
        with engine.connect() as conn:
            ours = {t.name for t in METADATA.sorted_tables}
            existing = sorted(ours & set(inspect(conn).get_table_names()))
            if existing and not replace:
                raise DemoSourceError(
                    f"{redacted(url)} already holds {', '.join(existing)}; pass replace=True"
                )
            try:
                METADATA.drop_all(conn, checkfirst=True)
                filled = _fill(conn, population, rows, progress)
                conn.commit()
            except BaseException as exc:
                conn.rollback()
                if conn.dialect.name in ("mysql", "mariadb"):
                    # MariaDB commits DDL at once; PostgreSQL's rollback already undid it all.
                    with contextlib.suppress(DBAPIError):
                        METADATA.drop_all(conn, checkfirst=True)
                        conn.commit()
                if isinstance(exc, Exception) and _is_driver_error(exc):
                    raise DemoSourceError(
                        f"building the demo source in {redacted(url)} failed: "
                        f"{type(getattr(exc, 'orig', exc)).__name__}"
                    ) from None
                raise
    except DBAPIError as exc:
        raise DemoSourceError(f"cannot open {redacted(url)}: {_reason(exc, url)}") from None
    finally:
        engine.dispose()
    return filled


def _is_driver_error(exc: Exception) -> bool:
    # Raw-driver errors during the fill may quote the offending value (MariaDB's "Duplicate
    # entry '…'"), so they are reported by class only; a DBAPIError wraps the same text.
    return isinstance(exc, DBAPIError) or type(exc).__module__.split(".")[0] in (
        "psycopg",
        "pymysql",
        "sqlite3",
    )


def _reason(exc: DBAPIError, url: URL) -> str:
    # The driver's first line says what failed (host, database, role); never population data,
    # since the statement and its parameters are not part of it. Scrub a password all the same.
    text = str(exc.orig).strip()
    line = text.splitlines()[0] if text else type(exc.orig).__name__
    return line.replace(url.password, "***") if url.password else line
