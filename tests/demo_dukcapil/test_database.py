"""The demo Dukcapil database: valid identifiers, consistent households, plausible shares, a
deterministic build, and no half-built database left behind. PostgreSQL and MariaDB when set."""

from __future__ import annotations

import csv
import datetime
import hashlib
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select
from stdnum.id import nik as stdnum_nik

from demo_dukcapil import database
from demo_dukcapil.database import (
    BIODATA_WNI,
    METADATA,
    DemoSourceError,
    DemoSummary,
    build_demo_source,
)
from tests.services import SERVER_PARAMS, scratch_database, server_url

REGIONS = Path(__file__).resolve().parents[2] / "config" / "wilayah_paser.csv"
TODAY = datetime.date(2025, 1, 15)
ROWS = 4_000
Row = dict[str, Any]


def build(path: Path, **kwargs: Any) -> DemoSummary:
    options: dict[str, Any] = {"rows": 600, "seed": 5, "regions_csv": REGIONS, "today": TODAY}
    return build_demo_source(f"sqlite:///{path}", **(options | kwargs))


def rows_of(path: Path, table: str) -> list[Row]:
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute(f'SELECT * FROM "{table}"')]


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with sqlite3.connect(path) as connection:
        for table in sorted(METADATA.tables):
            width = len(METADATA.tables[table].columns)
            order = ", ".join(str(i) for i in range(1, width + 1))
            for row in connection.execute(f'SELECT * FROM "{table}" ORDER BY {order}'):
                digest.update(repr((table, row)).encode())
    return digest.hexdigest()


def date(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value[:10])


def years_later(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28) + datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    path = tmp_path_factory.mktemp("demo") / "source.db"
    seen: list[tuple[int, int]] = []
    summary = build(
        path, rows=ROWS, seed=11, progress=lambda done, total: seen.append((done, total))
    )
    assert seen and seen[-1] == (ROWS, ROWS)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    return path, summary


@pytest.fixture(scope="module")
def people(demo: tuple[Path, DemoSummary]) -> list[Row]:
    return rows_of(demo[0], "BIODATA_WNI")


@pytest.fixture(scope="module")
def families(demo: tuple[Path, DemoSummary]) -> list[Row]:
    return rows_of(demo[0], "DATA_KELUARGA")


def test_summary_counts_what_was_written(
    demo: tuple[Path, DemoSummary], people: list[Row], families: list[Row]
) -> None:
    path, summary = demo
    assert summary.people == len(people) == ROWS
    assert summary.families == len(families)
    assert summary.url_redacted == f"sqlite:///{path}"
    assert summary.seconds > 0


def test_every_nik_is_valid_and_agrees_with_birth_date_and_sex(people: list[Row]) -> None:
    niks = [p["NIK"] for p in people]
    assert len(set(niks)) == len(niks)
    for person in people:
        nik, born = person["NIK"], date(person["TGL_LHR"])
        assert len(nik) == 16 and nik.isdigit()
        assert stdnum_nik.is_valid(nik)
        day = int(nik[6:8]) - (40 if person["JENIS_KLMIN"] == 2 else 0)
        assert (day, int(nik[8:10]), int(nik[10:12])) == (born.day, born.month, born.year % 100)
        assert int(nik[12:]) >= 1


def test_paser_niks_name_a_paser_kecamatan_and_a_few_come_from_elsewhere(people: list[Row]) -> None:
    paser = [p["NIK"] for p in people if p["NIK"].startswith("6401")]
    assert all(1 <= int(nik[4:6]) <= 10 for nik in paser)
    elsewhere = 1 - len(paser) / len(people)
    assert 0.01 < elsewhere < 0.10
    moved_within = sum(int(p["NIK"][4:6]) != p["NO_KEC"] for p in people if p["NIK"][:4] == "6401")
    assert 0 < moved_within < len(paser) * 0.2


def test_each_family_card_has_exactly_one_head_and_its_members(
    people: list[Row], families: list[Row]
) -> None:
    heads = Counter(p["NO_KK"] for p in people if p["STAT_HBKEL"] == 1)
    cards = {f["NO_KK"]: f for f in families}
    assert set(heads) == set(cards) == {p["NO_KK"] for p in people}
    assert set(heads.values()) == {1}
    head_name = {p["NO_KK"]: p["NAMA_LGKP"] for p in people if p["STAT_HBKEL"] == 1}
    assert all(cards[kk]["NAMA_KEP"] == name for kk, name in head_name.items())
    for card in families:
        assert len(card["NO_KK"]) == 16 and card["NO_KK"].startswith(f"6401{card['NO_KEC']:02d}")
        issued = datetime.datetime.strptime(card["NO_KK"][6:12], "%d%m%y").date()
        assert issued <= TODAY
        assert len(card["KODE_POS"]) == 5 and card["KODE_POS"].startswith("762")
        assert card["ALAMAT"].startswith(("JL. ", "JALAN ", "DSN "))
    assert 3.0 <= len(people) / len(families) <= 4.5


def test_members_share_their_card_region_and_regions_exist_in_the_csv(
    people: list[Row], families: list[Row]
) -> None:
    with REGIONS.open(newline="", encoding="utf-8") as handle:
        codes = {row["kode"] for row in csv.DictReader(handle)}
    region = {f["NO_KK"]: (f["NO_KEC"], f["NO_KEL"]) for f in families}
    for row in [*people, *families]:
        assert (row["NO_PROP"], row["NO_KAB"]) == (64, 1)
        assert f"64.01.{row['NO_KEC']:02d}.{row['NO_KEL']:04d}" in codes
    assert all(region[p["NO_KK"]] == (p["NO_KEC"], p["NO_KEL"]) for p in people)


def test_parents_in_the_data_are_the_records_their_children_point_to(people: list[Row]) -> None:
    by_nik = {p["NIK"]: p for p in people}
    linked = 0
    for child in people:
        for nik_col, name_col, sex in (
            ("NIK_IBU", "NAMA_LGKP_IBU", 2),
            ("NIK_AYAH", "NAMA_LGKP_AYAH", 1),
        ):
            assert child[name_col]  # always a name, generated when the parent is not in the data
            if child[nik_col] is None:
                continue
            parent = by_nik[child[nik_col]]
            linked += 1
            assert parent["NAMA_LGKP"] == child[name_col]
            assert parent["JENIS_KLMIN"] == sex and parent["NO_KK"] == child["NO_KK"]
            born, parent_born = date(child["TGL_LHR"]), date(parent["TGL_LHR"])
            assert years_later(parent_born, 18) <= born < years_later(parent_born, 45)
    assert linked > len(people) // 2
    # A child living with its mother (head or spouse) points at her record.
    mothers = {
        p["NO_KK"]: p["NIK"] for p in people if p["STAT_HBKEL"] in (1, 3) and p["JENIS_KLMIN"] == 2
    }
    children = [p for p in people if p["STAT_HBKEL"] == 4 and p["NO_KK"] in mothers]
    assert children and all(c["NIK_IBU"] == mothers[c["NO_KK"]] for c in children)


def test_marriages_are_shared_by_spouses_and_after_both_18th_birthdays(people: list[Row]) -> None:
    household: dict[str, list[Row]] = defaultdict(list)
    for p in people:
        household[p["NO_KK"]].append(p)
    for person in people:
        if person["TGL_KWN"] is not None:
            married = date(person["TGL_KWN"])
            assert person["STAT_KWN"] in (2, 3, 4) and person["AKTA_KWN"] == 2
            assert years_later(date(person["TGL_LHR"]), 18) <= married <= TODAY
            assert person["NO_AKTA_KWN"]
        if person["TGL_CRAI"] is not None:
            assert person["STAT_KWN"] == 3 and date(person["TGL_CRAI"]) >= date(person["TGL_KWN"])
        if person["STAT_KWN"] == 1:
            assert person["TGL_KWN"] is None and person["AKTA_KWN"] == 1
    couples = 0
    for members in household.values():
        pair = [m for m in members if m["STAT_HBKEL"] in (1, 2, 3)]
        if len(pair) == 2:
            couples += 1
            assert {m["STAT_KWN"] for m in pair} == {2}
            assert pair[0]["TGL_KWN"] == pair[1]["TGL_KWN"]
            assert pair[0]["NO_AKTA_KWN"] == pair[1]["NO_AKTA_KWN"]
            assert pair[0]["JENIS_KLMIN"] != pair[1]["JENIS_KLMIN"]
    assert couples > len(household) // 2


def test_shares_are_plausible_for_paser(people: list[Row]) -> None:
    n = len(people)

    def share(test: Any) -> float:
        return sum(1 for p in people if test(p)) / n

    assert 0.75 <= share(lambda p: p["AGAMA"] == 1) <= 0.95
    assert 0.25 <= share(lambda p: years_later(date(p["TGL_LHR"]), 18) > TODAY) <= 0.45
    assert 0.50 <= share(lambda p: p["JENIS_KLMIN"] == 1) <= 0.54
    assert 0.0 < share(lambda p: p["STAT_HIDUP"] == 2) < 0.03
    assert 0.0 < share(lambda p: p["FLAG_STATUS"] == "1") < 0.08
    assert 0.0 < share(lambda p: p["KLAIN_FSK"] is not None) < 0.04
    assert 0.0 < share(lambda p: p["ALAMAT_SBLM"] is not None) < 0.3
    assert share(lambda p: p["GOL_DRH"] == 13) > 0.3
    assert share(lambda p: years_later(date(p["TGL_LHR"]), 75) <= TODAY) < 0.05
    pupils = [p for p in people if 7 <= (TODAY - date(p["TGL_LHR"])).days / 365.25 < 15]
    assert sum(p["JENIS_PKRJN"] == 3 for p in pupils) / len(pupils) > 0.8
    assert all(
        p["PDDK_AKH"] in (1, 2) for p in people if years_later(date(p["TGL_LHR"]), 13) > TODAY
    )


def test_every_code_used_is_in_its_code_table(
    demo: tuple[Path, DemoSummary], people: list[Row]
) -> None:
    path = demo[0]
    for column, table in (
        ("AGAMA", "AGAMA_MASTER"),
        ("STAT_KWN", "KWN_MASTER"),
        ("STAT_HBKEL", "SHDK"),
        ("PDDK_AKH", "PDDKN_MASTER"),
        ("JENIS_PKRJN", "PKRJN_MASTER"),
        ("GOL_DRH", "GOLDRH_MASTER"),
        ("KLAIN_FSK", "CCT_MASTER"),
    ):
        known = {r["NO"] for r in rows_of(path, table)}
        used = {p[column] for p in people if p[column] is not None}
        assert used and used <= known, column
    assert len(rows_of(path, "SETUP_KEC")) == 10
    assert len(rows_of(path, "SETUP_KEL")) == 144


def test_sqlalchemy_reads_the_dates_back_as_dates(demo: tuple[Path, DemoSummary]) -> None:
    engine = create_engine(f"sqlite:///{demo[0]}")
    with engine.connect() as connection:
        row = connection.execute(select(BIODATA_WNI).limit(1)).one()
    engine.dispose()
    assert isinstance(row.TGL_LHR, datetime.date)
    assert isinstance(row.TGL_ENTRI, datetime.datetime) and row.TGL_ENTRI <= row.TGL_UBAH


def test_same_seed_same_content_and_another_seed_differs(tmp_path: Path) -> None:
    build(tmp_path / "a.db")
    build(tmp_path / "b.db")
    build(tmp_path / "c.db", seed=6)
    assert content_hash(tmp_path / "a.db") == content_hash(tmp_path / "b.db")
    assert content_hash(tmp_path / "a.db") != content_hash(tmp_path / "c.db")


def test_one_person_is_a_head_of_family(tmp_path: Path) -> None:
    summary = build(tmp_path / "one.db", rows=1)
    (person,) = rows_of(tmp_path / "one.db", "BIODATA_WNI")
    assert summary.families == 1 and person["STAT_HBKEL"] == 1


@pytest.mark.parametrize("rows", [0, -5, True, 2.5])
def test_rows_must_be_a_positive_integer(tmp_path: Path, rows: Any) -> None:
    with pytest.raises(ValueError, match="rows must be a positive integer"):
        build(tmp_path / "x.db", rows=rows)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "source.db"
    target.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match=str(target)):
        build(target)
    assert target.read_bytes() == b"precious"
    build(target, replace=True)
    assert len(rows_of(target, "BIODATA_WNI")) == 600
    assert [p.name for p in tmp_path.iterdir()] == ["source.db"]


@pytest.mark.parametrize("existing", [False, True])
def test_a_failure_mid_build_leaves_nothing_that_looks_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    target = tmp_path / "source.db"
    if existing:
        target.write_bytes(b"old")
    real = database._insert_batch
    calls: list[int] = []

    def fail_after_first(*args: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            raise OSError("disk full")
        real(*args)

    monkeypatch.setattr(database, "HOUSEHOLDS_PER_BATCH", 50)
    monkeypatch.setattr(database, "_insert_batch", fail_after_first)
    with pytest.raises(OSError, match="disk full"):
        build(target, replace=existing)
    assert len(calls) == 2
    assert [p.name for p in tmp_path.iterdir()] == (["source.db"] if existing else [])
    if existing:
        assert target.read_bytes() == b"old"


def test_a_database_error_names_the_target_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(database, "_insert_batch", disk_full)
    target = tmp_path / "source.db"
    with pytest.raises(DemoSourceError, match=f"{target}.*disk is full"):
        build(target)
    assert list(tmp_path.iterdir()) == []


def test_an_in_memory_database_is_refused() -> None:
    with pytest.raises(DemoSourceError, match="in-memory"):
        build_demo_source("sqlite://", rows=10, regions_csv=REGIONS, today=TODAY)


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(DemoSourceError, match=str(missing)):
        build(missing / "source.db")


def test_an_unreachable_server_is_named_without_its_password() -> None:
    url = "postgresql+psycopg://officer:s3cr3t-pw@127.0.0.1:1/dukcapil"
    with pytest.raises(DemoSourceError) as caught:
        build_demo_source(url, rows=10, regions_csv=REGIONS, today=TODAY)
    assert "127.0.0.1" in str(caught.value) and "s3cr3t-pw" not in str(caught.value)


@pytest.fixture(params=SERVER_PARAMS)
def server_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    with scratch_database(server_url(request.param), "pks_demo_test") as url:
        yield url


@pytest.mark.slow  # builds the demo source on a server: 1.5-3 s
def test_a_server_database_gets_the_same_people(server_database: str, tmp_path: Path) -> None:
    summary = build_demo_source(server_database, rows=500, seed=3, regions_csv=REGIONS, today=TODAY)
    build(tmp_path / "same.db", rows=500, seed=3)
    expected = {
        (p["NIK"], p["NAMA_LGKP"], p["TGL_LHR"])
        for p in rows_of(tmp_path / "same.db", "BIODATA_WNI")
    }
    engine = create_engine(server_database)
    with engine.connect() as connection:
        got = {
            (r.NIK, r.NAMA_LGKP, r.TGL_LHR.isoformat())
            for r in connection.execute(
                select(BIODATA_WNI.c.NIK, BIODATA_WNI.c.NAMA_LGKP, BIODATA_WNI.c.TGL_LHR)
            )
        }
    engine.dispose()
    assert summary.people == 500 and got == expected
    with pytest.raises(DemoSourceError, match="already holds"):
        build_demo_source(server_database, rows=10, regions_csv=REGIONS, today=TODAY)
    again = build_demo_source(
        server_database, rows=10, regions_csv=REGIONS, today=TODAY, replace=True
    )
    assert again.people == 10


def test_a_failed_server_build_drops_what_it_created(
    server_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any) -> None:
        raise OSError("connection lost")

    monkeypatch.setattr(database, "_insert_batch", fail)
    with pytest.raises(OSError, match="connection lost"):
        build_demo_source(server_database, rows=10, regions_csv=REGIONS, today=TODAY)
    engine = create_engine(server_database)
    with engine.connect() as connection:
        left = set(inspect(connection).get_table_names()) & set(METADATA.tables)
    engine.dispose()
    assert left == set()
