"""Synthetic households and people of Kabupaten Paser for the demo source database.

`DemoPopulation.batch` makes whole households (head first) as columns ready to insert: their
`DATA_KELUARGA` rows and their members' `BIODATA_WNI` rows. Everything is drawn with numpy over
arrays, because Faker or Python per row is far too slow for a million people; Faker (`id_ID`) only
fills the name and street pools once per build. NIK and NO_KK serials stay unique across batches.
Nobody in the data is real. The shares below are plausible guesses, explained in
docs/demo-source.md, not statistics of Paser.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import numpy as np
from faker import Faker
from numpy.typing import NDArray

from demo_dukcapil.regions import Regions
from demo_dukcapil.shares import (
    BLOOD,
    DUSUN_NAMES,
    EDU_BOUNDS,
    EDUCATION,
    HEAD_AGE,
    JOB_CODES,
    JOB_PROBS,
    KEC_POSTCODE,
    KEC_WEIGHT,
    LOCAL_STREETS,
    ORIGINS,
    RELIGION,
    ROMAN,
    TOWNS,
    Table,
)

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Objs = NDArray[np.object_]

PEOPLE_COLUMNS = (
    *("NIK", "NO_KK", "NAMA_LGKP", "JENIS_KLMIN", "TMPT_LHR", "TGL_LHR", "GOL_DRH", "AGAMA"),
    *("STAT_KWN", "STAT_HBKEL", "KLAIN_FSK", "PDDK_AKH", "JENIS_PKRJN", "NIK_IBU", "NAMA_LGKP_IBU"),
    *("NIK_AYAH", "NAMA_LGKP_AYAH", "ALAMAT_SBLM", "AKTA_LHR", "NO_AKTA_LHR", "AKTA_KWN"),
    *("NO_AKTA_KWN", "TGL_KWN", "AKTA_CRAI", "NO_AKTA_CRAI", "TGL_CRAI", "NO_PROP", "NO_KAB"),
    *("NO_KEC", "NO_KEL", "STAT_HIDUP", "TGL_ENTRI", "TGL_UBAH", "FLAG_STATUS"),
)
FAMILY_COLUMNS = (
    *("NO_KK", "NAMA_KEP", "ALAMAT", "NO_RT", "NO_RW", "DUSUN", "KODE_POS", "NO_PROP", "NO_KAB"),
    *("NO_KEC", "NO_KEL", "TGL_INSERTION", "TGL_UPDATION"),
)

YEAR = 365.25
DAY18 = 6576  # at least 18 full years, whichever leap days fall in between
DAY45 = 16430  # less than 45 full years
EPOCH = datetime.date(1970, 1, 1)
# Role order inside a household. The parents of head and spouse come before the spouse and the
# children, so cutting the last household short never cuts a parent while keeping the child.
HEAD, ORTU, MERTUA, SPOUSE, CHILD, GRANDCHILD, MENANTU, FAMILI, PEMBANTU, LAINNYA = range(10)
SHDK_OF_ROLE = np.array([1, 7, 8, 3, 4, 6, 5, 9, 10, 11])


def _day(year: int, month: int = 1, day: int = 1) -> int:
    return (datetime.date(year, month, day) - EPOCH).days


@dataclass(frozen=True)
class Batch:
    """One batch as columns: lists in `PEOPLE_COLUMNS` and `FAMILY_COLUMNS` order."""

    people: list[list[Any]]
    families: list[list[Any]]
    n_people: int
    n_families: int


def _pick(rng: np.random.Generator, n: int, table: Table) -> NDArray[Any]:
    values = np.array([v for v, _ in table])
    cdf = np.cumsum([w for _, w in table])
    return values[
        np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(n), side="right"), len(cdf) - 1)
    ]


def _pick_grouped(rng: np.random.Generator, group: Ints, codes: Ints, probs: NDArray[Any]) -> Ints:
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    index = (rng.random(len(group))[:, None] >= cdf[group]).sum(axis=1)
    result: Ints = codes[np.minimum(index, len(codes) - 1)]
    return result


def _ymd(days: Ints) -> tuple[Ints, Ints, Ints]:
    d = days.astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    return year, month_start.astype(np.int64) % 12 + 1, (d - month_start).astype(np.int64) + 1


def _dates(days: Ints, mask: Bools | None = None) -> list[Any]:
    text = np.datetime_as_string(days.astype("datetime64[D]")).astype(object)
    if mask is not None:
        text[~mask] = None
    return list(text.tolist())


def _stamps(days: Ints, seconds: Ints) -> list[str]:
    # SQLAlchemy's own SQLite DATETIME text, so comparisons on the stored text stay correct.
    text = np.datetime_as_string((days * 86400 + seconds).astype("datetime64[s]")).tolist()
    return [s.replace("T", " ") + ".000000" for s in text]


def _texts(out: Objs, mask: Bools, parts: list[NDArray[Any]], template: str) -> Objs:
    """Fill `out` where `mask` holds with `template` formatted from `parts`; None elsewhere."""
    rows = zip(*(p[mask].tolist() for p in parts), strict=True)
    out[mask] = np.array([template.format(*row) for row in rows] or [], dtype=object)
    return out


def _nulls(n: int) -> Objs:
    return np.full(n, None, dtype=object)


def _or_null(mask: Bools, values: NDArray[Any]) -> Objs:
    out = values.astype(object)
    out[~mask] = None
    return out


def _street_name(name: str) -> str:
    for lead in ("Jl. ", "Jalan ", "Gg. ", "Gang "):
        name = name.removeprefix(lead)
    return name.upper()


class DemoPopulation:
    """Draws batches of households; holds the counters that keep NIK and NO_KK serials unique."""

    def __init__(self, *, seed: int, regions: Regions, today: datetime.date) -> None:
        self.seed = seed & 0xFFFF_FFFF_FFFF_FFFF  # SeedSequence wants non-negative entropy
        self.regions = regions
        self.today = (today - EPOCH).days
        self.nik_next: dict[int, int] = {}
        self.kk_next: dict[int, int] = {}
        fake = Faker("id_ID")
        fake.seed_instance(seed)
        # Drawn through Faker (so its frequencies carry over) once; numpy samples them per person.
        self.first = (
            np.array([fake.first_name_male().upper() for _ in range(3000)], dtype=object),
            np.array([fake.first_name_female().upper() for _ in range(3000)], dtype=object),
        )
        self.last = (
            np.array([fake.last_name_male().upper() for _ in range(1500)], dtype=object),
            np.array([fake.last_name_female().upper() for _ in range(1500)], dtype=object),
        )
        streets = {_street_name(fake.street_name()) for _ in range(600)} | set(LOCAL_STREETS)
        self.streets = np.array(sorted(streets), dtype=object)
        r = regions
        kec_weight = np.array(
            [KEC_WEIGHT.get(int(k), 15) / np.sum(r.vil_kec == k) for k in r.vil_kec]
        )
        weight = kec_weight * np.where(r.vil_urban, 3.0, 1.0)
        self.village_p = weight / weight.sum()
        top = int(max(r.kec_no.max(), r.vil_kec.max())) + 1
        self.kec_name = np.full(top, "PASER", dtype=object)
        self.kec_name[r.kec_no] = [n.upper() for n in r.kec_names]
        order = np.argsort(r.vil_kec, kind="stable")
        self.vil_by_kec = order
        self.vil_first = np.searchsorted(r.vil_kec[order], np.arange(top))
        self.vil_count = np.bincount(r.vil_kec, minlength=top)

    def names(self, rng: np.random.Generator, female: Bools) -> Objs:
        """Upper-case Indonesian names of one to three words."""
        n = len(female)
        pick_m, pick_f = rng.integers(0, 3000, (2, n))
        first = np.where(female, self.first[1][pick_f], self.first[0][pick_m])
        pick_m, pick_f = rng.integers(0, 1500, (2, n))
        last = np.where(female, self.last[1][pick_f], self.last[0][pick_m])
        u = rng.random(n)
        lead = np.where(
            female,
            np.where(u < 0.06, "SITI ", np.where(u < 0.09, "NUR ", "")),
            np.where(u < 0.07, "MUHAMMAD ", np.where(u < 0.09, "ANDI ", "")),
        )
        one_word = (rng.random(n) < 0.3).tolist()
        parts = zip(lead.tolist(), first.tolist(), last.tolist(), one_word, strict=True)
        return np.array([f"{p}{f}" if w else f"{p}{f} {s}" for p, f, s, w in parts], dtype=object)

    def serials(self, keys: Ints, counter: dict[int, int], what: str) -> Ints:
        """Serials 1, 2, … per 12-digit prefix, continuing where earlier batches stopped."""
        unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        order = np.argsort(inverse, kind="stable")
        rank = np.empty(len(keys), dtype=np.int64)
        rank[order] = np.arange(len(keys)) - np.repeat(np.cumsum(counts) - counts, counts)
        base = np.array([counter.get(k, 0) for k in unique.tolist()], dtype=np.int64)
        counter.update(zip(unique.tolist(), (base + counts).tolist(), strict=True))
        serial: Ints = base[inverse] + rank + 1
        if len(serial) and serial.max() > 9999:
            raise RuntimeError(f"more than 9999 {what} serials share one prefix")
        return serial

    def batch(self, index: int, households: int, limit: int) -> Batch:
        """`households` whole households, cut to at most `limit` people."""
        return _draw(self, np.random.default_rng([self.seed, index]), households, limit)


def _households(pop: DemoPopulation, rng: np.random.Generator, n: int) -> dict[str, NDArray[Any]]:
    """Household-level draws: place, head, spouse, how many of each kind of member."""
    t = pop.today
    vil = rng.choice(len(pop.village_p), n, p=pop.village_p)
    age = _pick(rng, n, HEAD_AGE).astype(float) + rng.random(n) * 5
    head_b = t - (age * YEAR).astype(np.int64)
    head_f = rng.random(n) < np.select([age < 40, age < 60], [0.06, 0.12], 0.30)
    p_spouse = np.select([age < 24, age < 30, age < 60, age < 70], [0.4, 0.75, 0.93, 0.8], 0.62)
    has_sp = rng.random(n) < np.where(head_f, 0.10, p_spouse)
    gap = (np.clip(rng.normal(4.0, 4.0, n), -6, 15) * YEAR).astype(np.int64)
    sp_b = np.minimum(np.where(head_f, head_b - gap, head_b + gap), t - DAY18 - 365)
    mom_b = np.where(has_sp & ~head_f, sp_b, head_b)
    dad_b = np.where(has_sp & head_f, sp_b, head_b)
    # Children born when both parents were 18-45, and still living at home (at most 35).
    lo = np.maximum(np.maximum(mom_b, dad_b) + DAY18, t - int(35 * YEAR))
    hi = np.minimum(np.minimum(mom_b, dad_b) + DAY45, t - 1)
    lam = np.interp(
        (t - mom_b) / YEAR,
        [18, 22, 27, 32, 40, 50, 60, 70],
        [0.5, 1.0, 1.6, 2.1, 2.4, 1.9, 1.0, 0.4],
    )
    lam = np.where(has_sp, lam, np.where(~head_f & (age < 30), 0.03, 0.7 * lam))
    n_child = np.where(hi >= lo, np.minimum(rng.poisson(lam), 9), 0)
    u = rng.random((8, n))
    ot_b = head_b - rng.integers(DAY18, DAY45, n)
    mt_b = sp_b - rng.integers(DAY18, DAY45, n)
    oldest = t - int(95 * YEAR)
    g_lo = np.maximum(head_b + 2 * DAY18, t - int(16 * YEAR))
    with_gc = (age >= 42) & (u[2] < np.where(age < 55, 0.10, 0.20)) & (g_lo < t)
    counts = np.stack(  # one row per role, in role order
        [
            np.ones(n, dtype=np.int64),
            (age < 62) & (u[0] < 0.05) & (ot_b > oldest),
            has_sp & (sp_b > t - 60 * YEAR) & (u[1] < 0.025) & (mt_b > oldest),
            has_sp,
            n_child,
            np.where(with_gc, 1 + (u[3] < 0.35), 0),
            (age >= 45) & (u[4] < 0.03),
            u[5] < 0.04,
            u[6] < 0.002,
            u[7] < 0.015,
        ]
    ).astype(np.int64)
    single = np.where(
        rng.random(n) < np.interp(age, [30, 45, 60, 75], [0.3, 0.45, 0.7, 0.9]) + 0.1 * head_f, 4, 3
    )
    single = np.where((age >= 30) | (n_child > 0), single, 1)
    single = np.where(~head_f & (n_child == 0) & (age >= 30) & (rng.random(n) < 0.35), 1, single)
    nk = len(pop.regions.kec_no)
    kec = pop.regions.vil_kec[vil]
    kec_i = np.searchsorted(pop.regions.kec_no, kec)
    move = np.maximum(head_b + DAY18, _day(1995))
    out_mig = rng.random(n) < 0.045
    origin = _pick(rng, n, tuple((i, o[3]) for i, o in enumerate(ORIGINS)))
    return {
        "vil": vil, "kec": kec, "age": age, "head_b": head_b, "head_f": head_f, "has_sp": has_sp,
        "sp_b": sp_b, "lo": lo, "hi": hi, "ot_b": ot_b, "mt_b": mt_b, "g_lo": g_lo,
        "ot_f": rng.random(n) < 0.7, "mt_f": rng.random(n) < 0.7, "counts": counts,
        "head_kwn": np.where(has_sp, 2, single), "religion": _pick(rng, n, RELIGION),
        "out_mig": out_mig, "in_mig": ~out_mig & (rng.random(n) < 0.10),
        "move": move + (rng.random(n) * np.maximum(t - 30 - move, 0)).astype(np.int64),
        "origin": origin,
        "origin_kec": 1 + (rng.random(n) * _origin_kecs()[origin]).astype(np.int64),
        "other_kec": pop.regions.kec_no[(kec_i + rng.integers(1, max(nk, 2), n)) % nk],
    }  # fmt: skip


def _origin_kecs() -> Ints:
    return np.array([o[1] for o in ORIGINS], dtype=np.int64)


def _births(
    pop: DemoPopulation, rng: np.random.Generator, h: dict[str, NDArray[Any]], hh: Ints, role: Ints
) -> tuple[Ints, Bools]:
    """Birth day (days since 1970) and sex of every member, by role."""
    t = pop.today
    b = np.empty(len(hh), dtype=np.int64)
    fem = np.empty(len(hh), dtype=bool)
    for r in range(10):
        m = role == r
        k, x = int(m.sum()), hh[m]
        u = rng.random(k)
        if r == HEAD:
            b[m], fem[m] = h["head_b"][x], h["head_f"][x]
        elif r == ORTU:
            b[m], fem[m] = h["ot_b"][x], h["ot_f"][x]
        elif r == MERTUA:
            b[m], fem[m] = h["mt_b"][x], h["mt_f"][x]
        elif r == SPOUSE:
            b[m], fem[m] = h["sp_b"][x], ~h["head_f"][x]
        elif r == CHILD:
            b[m] = h["lo"][x] + (u * (h["hi"][x] - h["lo"][x] + 1)).astype(np.int64)
        elif r == GRANDCHILD:
            b[m] = h["g_lo"][x] + (u * (t - h["g_lo"][x])).astype(np.int64)
        elif r == MENANTU:
            b[m] = np.minimum(
                h["head_b"][x] + DAY18 + 730 + (u * 8000).astype(np.int64), t - DAY18 - 365
            )
        else:
            low, high = {FAMILI: (3, 70), PEMBANTU: (18, 50), LAINNYA: (15, 65)}[r]
            b[m] = t - ((low + u * (high - low)) * YEAR).astype(np.int64)
        if r >= CHILD:
            share = {MENANTU: 0.6, FAMILI: 0.4, PEMBANTU: 0.8, LAINNYA: 0.2}.get(r, 0.466)
            fem[m] = rng.random(k) < share
    return b, fem


@dataclass(frozen=True)
class Members:
    """Everyone in a batch's households, in household order (head first), as parallel arrays."""

    hh: Ints  # household index of each member
    role: Ints
    start: Ints  # position of each household's head
    counts: Ints  # members per role (rows) and household (columns)
    born: Ints  # days since 1970
    female: Bools

    def is_(self, *roles: int) -> Bools:
        return np.isin(self.role, roles)


def _draw(pop: DemoPopulation, rng: np.random.Generator, n_house: int, limit: int) -> Batch:
    t = pop.today
    h = _households(pop, rng, n_house)
    counts = h["counts"]
    size = counts.sum(axis=0)
    hh = np.repeat(np.arange(n_house), size)
    role = np.repeat(np.tile(np.arange(10), n_house), counts.T.ravel())
    born, female = _births(pop, rng, h, hh, role)
    m = Members(hh, role, np.cumsum(size) - size, counts, born, female)
    n, age = len(hh), (t - born) / YEAR
    kwn, religion, edu, job, disability = _statuses(rng, h, m, age)
    reg6, origin, outside, moved = _registration(rng, h, m)
    year, month, day = _ymd(born)
    key = reg6 * 1_000_000 + (day + 40 * female) * 10_000 + month * 100 + year % 100
    nik = (key * 10_000 + pop.serials(key, pop.nik_next, "NIK")).astype("U16").astype(object)
    names = pop.names(rng, female)
    keep = min(n, limit)
    n_fam = int(hh[keep - 1]) + 1
    mom, dad, nama_ibu, nama_ayah = _parents(pop, rng, h, m, names)
    # A parent cut off with the end of the last household keeps the name but loses the link.
    nik_ibu = _or_null((mom >= 0) & (mom < keep), nik[mom])
    nik_ayah = _or_null((dad >= 0) & (dad < keep), nik[dad])
    place, alamat_sblm = _origins(pop, rng, m, reg6, origin, outside, moved)
    akta_lhr, no_lhr = _birth_certificates(rng, t, born, reg6)
    kwn_day, akta_kwn, no_kwn, crai_day, akta_crai, no_crai = _marriages(
        rng, t, h, m, kwn, religion
    )
    dead = rng.random(n) < np.interp(
        age, [0, 50, 60, 70, 80, 90], [0.003, 0.006, 0.03, 0.07, 0.15, 0.3]
    )
    inactive = ~m.is_(HEAD) & (rng.random(n) < 0.03)
    # SIAK records were migrated 2005-2012; later births are entered within months.
    siak = _day(2005, 3, 1)
    migrated = siak + (rng.random(n) * (_day(2013) - siak)).astype(np.int64)
    entri = np.minimum(
        np.where(born >= siak, born + rng.exponential(120, n).astype(np.int64), migrated), t
    )
    ubah = entri + ((t - entri) * rng.random(n) ** 2).astype(np.int64)
    sec_e, sec_u = rng.integers(27_000, 57_600, (2, n))
    sec_u = np.where(ubah == entri, np.maximum(sec_e, sec_u), sec_u)
    shdk = np.where(m.is_(SPOUSE) & ~female, 2, SHDK_OF_ROLE[role])
    vil_kel = pop.regions.vil_kel[h["vil"]][hh]

    # Rows go in NIK order: inserting into the primary-key index in order is much cheaper.
    sel = np.argsort(nik[:keep].astype("U16"), kind="stable")
    blank = np.zeros(n, dtype=np.int64)  # placeholders for the text columns filled below
    columns: list[NDArray[Any]] = [
        *(nik, blank, names, np.where(female, 2, 1), place, blank, _pick(rng, n, BLOOD), religion),
        *(kwn, shdk, _or_null(disability > 0, disability), edu, job, nik_ibu, nama_ibu),
        *(nik_ayah, nama_ayah, alamat_sblm, np.where(akta_lhr, 2, 1), no_lhr),
        *(np.where(akta_kwn, 2, 1), no_kwn, blank, np.where(akta_crai, 2, 1), no_crai, blank),
        *(np.full(n, 64), np.ones(n, dtype=np.int64), h["kec"][hh], vil_kel),
        *(np.where(dead, 2, 1), blank, blank, np.where(inactive, "1", "0")),
    ]
    people: list[list[Any]] = [list(c[sel].tolist()) for c in columns]
    families, no_kk = _families(
        pop, rng, h, np.maximum.reduceat(born, m.start), names[m.start], n_fam
    )
    people[1] = no_kk[hh[sel]].tolist()
    people[5] = _dates(born[sel])
    people[22] = _dates(kwn_day[sel], akta_kwn[sel])
    people[25] = _dates(crai_day[sel], akta_crai[sel])
    people[31] = _stamps(entri[sel], sec_e[sel])
    people[32] = _stamps(ubah[sel], sec_u[sel])
    return Batch(people=people, families=families, n_people=keep, n_families=n_fam)


def _statuses(
    rng: np.random.Generator, h: dict[str, NDArray[Any]], m: Members, age: NDArray[np.float64]
) -> tuple[Ints, Ints, Ints, Ints, Ints]:
    """Marital status, religion, education, occupation and disability of every member."""
    n = len(m.hh)
    kwn = np.ones(n, dtype=np.int64)
    heads = m.is_(HEAD)
    kwn[heads] = h["head_kwn"][m.hh[heads]]
    kwn[m.is_(SPOUSE, MENANTU)] = 2
    elder = m.is_(ORTU, MERTUA)
    kwn[elder] = np.where(rng.random(int(elder.sum())) < 0.85, 4, 3)
    other = (m.role >= FAMILI) & (age >= 19)
    kwn[other] = _pick(rng, int(other.sum()), ((1, 0.5), (2, 0.35), (3, 0.07), (4, 0.08)))
    kwn[m.is_(CHILD) & (age >= 25) & (rng.random(n) < 0.04)] = 3
    religion = np.where(rng.random(n) < 0.015, _pick(rng, n, RELIGION), h["religion"][m.hh])
    edu_group = np.searchsorted(EDU_BOUNDS, age, side="right")
    edu = _pick_grouped(rng, edu_group, np.arange(1, 11), EDUCATION)
    job_group = np.select([age < 5, age < 18, age < 23, age < 60], [0, 1, 2, 4], 6)
    job = _pick_grouped(rng, job_group + (m.female & (age >= 18)), JOB_CODES, JOB_PROBS)
    # Jobs that need a diploma get one; students over 18 have finished SLTA.
    edu = np.where(np.isin(job, [65, 72]), np.maximum(edu, 8), edu)
    needs_slta = np.isin(job, [5, 6, 7, 16, 17]) | ((job == 3) & (age >= 19))
    edu = np.where(needs_slta, np.maximum(edu, 5), edu)
    disabled = rng.random(n) < np.interp(age, [0, 40, 60, 80], [0.006, 0.01, 0.03, 0.06])
    kinds = ((1, 0.35), (2, 0.15), (3, 0.15), (4, 0.15), (5, 0.05), (6, 0.15))
    return kwn, religion, edu, job, np.where(disabled, _pick(rng, n, kinds), 0)


def _registration(
    rng: np.random.Generator, h: dict[str, NDArray[Any]], m: Members
) -> tuple[Ints, Ints, Bools, Bools]:
    """First registration region (PPKKCC) of every member: where the household lived at the
    member's birth, or another regency for relatives and lodgers who came on their own."""
    n, hh = len(m.hh), m.hh
    before = m.born < h["move"][hh]
    alone = m.is_(ORTU, MERTUA, MENANTU, FAMILI, PEMBANTU, LAINNYA) & (rng.random(n) < 0.25)
    own = _pick(rng, n, tuple((i, o[3]) for i, o in enumerate(ORIGINS)))
    origin = np.where(alone, own, h["origin"][hh])
    own_kec = 1 + (rng.random(n) * _origin_kecs()[origin]).astype(np.int64)
    origin_kec = np.where(alone, own_kec, h["origin_kec"][hh])
    outside = alone | (h["out_mig"][hh] & before)
    moved = h["in_mig"][hh] & before & ~outside
    reg_kec = np.where(moved, h["other_kec"][hh], h["kec"][hh])
    prefix = np.array([int(o[0]) for o in ORIGINS], dtype=np.int64)[origin]
    return np.where(outside, prefix * 100 + origin_kec, 640100 + reg_kec), origin, outside, moved


def _parents(
    pop: DemoPopulation,
    rng: np.random.Generator,
    h: dict[str, NDArray[Any]],
    m: Members,
    names: Objs,
) -> tuple[Ints, Ints, Objs, Objs]:
    """Positions of mother and father in the batch (-1: not in the data) and their names."""
    n, hh, start, counts = len(m.hh), m.hh, m.start, m.counts
    mom = np.full(n, -1, dtype=np.int64)
    dad = np.full(n, -1, dtype=np.int64)
    child = m.is_(CHILD)
    x = hh[child]
    spouse = np.where(h["has_sp"][x], (start + counts[0] + counts[1] + counts[2])[x], -1)
    mom[child] = np.where(h["head_f"][x], start[x], spouse)
    dad[child] = np.where(h["head_f"][x], spouse, start[x])
    for kid, parent_pos, parent_f in (
        (m.is_(HEAD) & (counts[ORTU][hh] > 0), start + 1, h["ot_f"]),
        (m.is_(SPOUSE) & (counts[MERTUA][hh] > 0), start + 1 + counts[ORTU], h["mt_f"]),
    ):
        x = hh[kid]
        mom[kid] = np.where(parent_f[x], parent_pos[x], -1)
        dad[kid] = np.where(parent_f[x], -1, parent_pos[x])
    # Absent parents get a generated name, the same one for siblings (children, grandchildren).
    nama_ibu, nama_ayah = names[mom], names[dad]
    for parents, out, female in ((mom, nama_ibu, True), (dad, nama_ayah, False)):
        for kind in (CHILD, GRANDCHILD):
            absent = m.is_(kind) & (parents < 0)
            out[absent] = pop.names(rng, np.full(len(start), female))[hh[absent]]
        lone = (parents < 0) & ~m.is_(CHILD, GRANDCHILD)
        out[lone] = pop.names(rng, np.full(int(lone.sum()), female))
    return mom, dad, nama_ibu, nama_ayah


def _origins(
    pop: DemoPopulation,
    rng: np.random.Generator,
    m: Members,
    reg6: Ints,
    origin: Ints,
    outside: Bools,
    moved: Bools,
) -> tuple[Objs, Objs]:
    """Place of birth and previous address, consistent with the registration region: the
    origin town for most who came from elsewhere, a Paser place for most others (older settlers
    were often born in Java or Sulawesi)."""
    n, reg = len(m.hh), pop.regions
    reg_kec = np.where(outside, 4, reg6 % 100)  # only Paser registrations use it
    town = np.array([o[2] for o in ORIGINS], dtype=object)[origin]
    any_town = TOWNS[rng.integers(0, len(TOWNS), n)]
    u = rng.random(n)
    paser = np.where(u < 0.25, "PASER", np.where(u < 0.5, "TANAH GROGOT", pop.kec_name[reg_kec]))
    settler = ~outside & (m.born < _day(1990)) & (rng.random(n) < 0.2)
    away = np.where(rng.random(n) < 0.8, town, any_town)
    place = np.where(outside, away, np.where(settler, any_town, paser.astype(object)))
    street = pop.streets[rng.integers(0, len(pop.streets), n)]
    house_no = rng.integers(1, 150, n)
    v = pop.vil_first[reg_kec] + (rng.random(n) * pop.vil_count[reg_kec]).astype(np.int64)
    v = pop.vil_by_kec[np.minimum(v, len(pop.vil_by_kec) - 1)]
    vil_name = np.array([s.upper() for s in reg.vil_names], dtype=object)[v]
    vil_kind = np.where(reg.vil_urban[v], "KEL.", "DESA")
    noted = rng.random(n) < 0.8  # not every move left a previous address in the record
    previous = _texts(_nulls(n), outside & noted, [street, house_no, town], "JL. {} NO. {}, {}")
    within = [rng.integers(1, 20, n), vil_kind, vil_name, pop.kec_name[reg_kec]]
    _texts(previous, moved & noted, within, "RT. {:03d} {} {}, KEC. {}")
    return place, previous


def _birth_certificates(
    rng: np.random.Generator, t: int, born: Ints, reg6: Ints
) -> tuple[Bools, Objs]:
    """Most young people have an akta kelahiran, fewer of the old; number style by era."""
    n = len(born)
    year = _ymd(born)[0]
    has = rng.random(n) < np.interp(year, [1940, 1980, 2000, 2010], [0.2, 0.45, 0.8, 0.95])
    iy, im, id_ = _ymd(born + np.minimum(rng.exponential(300, n).astype(np.int64), t - born))
    serial = rng.integers(1, 9999, n)
    new_style = has & (year >= 2005)
    parts = [reg6 // 100, id_, im, iy, serial]
    numbers = _texts(_nulls(n), new_style, parts, "{}-LT-{:02d}{:02d}{}-{:04d}")
    _texts(numbers, has & ~new_style, [serial, year + rng.integers(0, 6, n)], "474.1/{:04d}/{}")
    return has, numbers


def _marriages(
    rng: np.random.Generator,
    t: int,
    h: dict[str, NDArray[Any]],
    m: Members,
    kwn: Ints,
    religion: Ints,
) -> tuple[Ints, Bools, Objs, Ints, Bools, Objs]:
    """Marriage and divorce date, certificate flag and number of every member.

    A couple shares date and certificate, married after both 18th birthdays and before their
    first child; widowed or divorced heads married before their first child too. Muslims hold a
    KUA marriage book number and a Pengadilan Agama divorce deed; others Dukcapil deeds.
    """
    n, hh, n_house = len(m.hh), m.hh, len(m.start)
    kids = m.is_(CHILD)
    first_child = np.full(n_house, t, dtype=np.int64)
    np.minimum.at(first_child, hh[kids], m.born[kids])
    lo = np.maximum(h["head_b"], np.where(h["has_sp"], h["sp_b"], h["head_b"])) + DAY18
    hi = np.maximum(np.minimum(first_child, t - 1), lo)
    with_child = m.counts[CHILD] > 0
    wait = (rng.exponential(np.where(with_child, 1.5, 5.0), n_house) * YEAR).astype(np.int64)
    couple_day = np.clip(np.where(with_child, hi - wait, lo + wait), lo, hi)
    # Parents of head or spouse married before that child was born.
    own_hi = np.where(m.is_(ORTU), h["head_b"][hh], np.where(m.is_(MERTUA), h["sp_b"][hh], t - 1))
    own_wait = (rng.exponential(5.0, n) * YEAR).astype(np.int64)
    couple = m.is_(HEAD, SPOUSE)
    day = np.where(couple, couple_day[hh], np.minimum(own_hi, m.born + DAY18 + own_wait))
    draw = np.where(couple, rng.random(n_house)[hh], rng.random(n))
    has = (kwn >= 2) & (draw < np.where(day >= _day(1990), 0.9, 0.7))
    ky, km, kd = _ymd(day)
    serial = np.where(couple, rng.integers(1, 999, n_house)[hh], rng.integers(1, 999, n))
    kua = np.where(couple, rng.integers(1, 60, n_house)[hh], rng.integers(1, 60, n))
    muslim = np.where(couple, h["religion"][hh], religion) == 1
    numbers = _texts(_nulls(n), has & muslim, [serial, kua, ROMAN[km], ky], "{:04d}/{:03d}/{}/{}")
    _texts(numbers, has & ~muslim, [kd, km, ky, serial], "6401-KW-{:02d}{:02d}{}-{:04d}")
    divorced = (kwn == 3) & has & (rng.random(n) < 0.7)
    crai = day + (rng.random(n) * np.maximum(t - 1 - day, 0)).astype(np.int64)
    cy, cm, cd = _ymd(crai)
    c_serial = rng.integers(1, 9999, n)
    deeds = _texts(_nulls(n), divorced & muslim, [c_serial, cy], "{:04d}/AC/{}/PA.Tgt")
    _texts(deeds, divorced & ~muslim, [cd, cm, cy, c_serial], "6401-CR-{:02d}{:02d}{}-{:04d}")
    return day, has, numbers, crai, divorced, deeds


def _families(
    pop: DemoPopulation,
    rng: np.random.Generator,
    h: dict[str, NDArray[Any]],
    latest: Ints,
    head_names: Objs,
    keep: int,
) -> tuple[list[list[Any]], Objs]:
    """DATA_KELUARGA columns of the first `keep` households, and every household's NO_KK."""
    t, n = pop.today, len(latest)
    kec, vil = h["kec"], h["vil"]
    # A card is (re)issued after its youngest member's birth; SIAK numbers from 2010 on.
    lo = np.maximum(latest + 1, _day(2010))
    issued = np.minimum(lo + ((t - lo) * rng.random(n) ** 1.5).astype(np.int64), t)
    year, month, day = _ymd(issued)
    key = (640100 + kec) * 1_000_000 + day * 10_000 + month * 100 + year % 100
    no_kk = (key * 10_000 + pop.serials(key, pop.kk_next, "NO_KK")).astype("U16").astype(object)
    urban = pop.regions.vil_urban[vil]
    street = pop.streets[rng.integers(0, len(pop.streets), n)]
    dusun = DUSUN_NAMES[rng.integers(0, len(DUSUN_NAMES), n)]
    u = rng.random(n)
    numbered = rng.random(n) < 0.6
    house_no = rng.integers(1, 200, n)
    road = [
        f"{'JALAN' if w < 0.15 else 'JL.'} {s} NO. {k}"
        if d
        else f"{'JALAN' if w < 0.15 else 'JL.'} {s}"
        for s, k, d, w in zip(
            street.tolist(),
            house_no.tolist(),
            numbered.tolist(),
            rng.random(n).tolist(),
            strict=True,
        )
    ]
    by_dusun = ~urban & (u < 0.4)
    alamat = np.where(
        by_dusun,
        np.array(["DSN " + d for d in dusun.tolist()], dtype=object),
        np.array(road, dtype=object),
    )
    dusun_col = _or_null(~urban & (by_dusun | (rng.random(n) < 0.3)), dusun)
    base = np.array([KEC_POSTCODE.get(int(k), 76211) for k in kec])
    postcode = np.where(kec == 4, base + pop.regions.vil_kel[vil] % 5, base).astype("U5")
    updated = np.where(
        rng.random(n) < 0.5, issued, issued + ((t - issued) * rng.random(n)).astype(np.int64)
    )
    sec_i, sec_u = rng.integers(27_000, 57_600, (2, n))
    sec_u = np.where(updated == issued, np.maximum(sec_i, sec_u), sec_u)
    rt = np.minimum(1 + rng.geometric(0.15, n), 40)
    s = slice(0, keep)
    families: list[list[Any]] = [
        no_kk[s].tolist(),
        head_names[s].tolist(),
        alamat[s].tolist(),
        rt[s].tolist(),
        rng.integers(1, 7, n)[s].tolist(),
        dusun_col[s].tolist(),
        postcode[s].astype(object).tolist(),
        [64] * keep,
        [1] * keep,
        kec[s].tolist(),
        pop.regions.vil_kel[vil][s].tolist(),
        _stamps(issued[s], sec_i[s]),
        _stamps(updated[s], sec_u[s]),
    ]
    return families, no_kk
