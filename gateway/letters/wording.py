"""Words the letters share, in Bahasa Indonesia: dates as the office writes them (babel, locale
`id`: `2 Desember 2026`), numbers in words for a Berita Acara (`dua ribu dua puluh enam`), roles
and statuses as the SOP names them, and the scope's terms (format, schedule, quota, regions).
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_decimal

from gateway.letters.model import Region

LOCALE = "id"
EMPTY = "-"

ROLES = {
    "petugas_adb": "Petugas ADB",
    "pejabat_fungsional": "Pejabat Fungsional",
    "kepala_bidang": "Kepala Bidang PDIP",
    "kepala_dinas": "Kepala Dinas",
    "compliance": "Petugas Kepatuhan",
    "admin": "Admin",
}
REQUEST_STATUSES = {
    "submitted": "diterima (langkah 1)",
    "disposed": "didisposisikan (langkah 2)",
    "assigned": "ditugaskan (langkah 3)",
    "rejected": "ditolak (langkah 4)",
    "drafted": "konsep PKS disusun (langkah 5)",
    "returned": "dikembalikan untuk perbaikan (langkah 6)",
    "forwarded": "diteruskan kepada Kepala Dinas (langkah 6)",
    "signed": "PKS ditandatangani (langkah 7)",
    "cancelled": "dibatalkan",
}
AGREEMENT_STATUSES = {
    "draft": "konsep, belum ditandatangani",
    "active": "berlaku",
    "suspended": "ditangguhkan",
    "revoked": "dicabut",
    "superseded": "digantikan oleh adendum",
    "withdrawn": "ditarik",
}
ACCESS_MODES = {
    "bulk_delivery": "penyerahan data dalam bentuk berkas terenkripsi",
    "nik_verification": "layanan verifikasi NIK (jawaban cocok / tidak cocok)",
}
FORMATS = {
    "parquet": "Parquet (kompresi zstd)",
    "csv": "CSV (UTF-8, dengan baris judul)",
    "xlsx": "XLSX (Excel, nomor identitas sebagai teks)",
}
SCHEDULES = {
    "on_demand": "atas permintaan",
    "monthly": "setiap bulan",
    "quarterly": "setiap triwulan",
}
PERIODS = {"month": "bulan", "quarter": "triwulan", "year": "tahun"}
REIDENTIFICATION_ACTIONS = {
    "report": "dicatat dalam laporan penyerahan",
    "suppress": "baris tersebut tidak diserahkan (dan dicatat)",
    "refuse": "penyerahan dihentikan",
}
OPERATORS = {"in": "salah satu dari", "not_in": "bukan salah satu dari"}

_ONES = (
    "nol",
    "satu",
    "dua",
    "tiga",
    "empat",
    "lima",
    "enam",
    "tujuh",
    "delapan",
    "sembilan",
    "sepuluh",
    "sebelas",
)
_SCALES = ((10**12, "triliun"), (10**9, "miliar"), (10**6, "juta"), (1000, "ribu"))


def tanggal(day: date) -> str:
    """`2 Desember 2026`."""
    return format_date(day, "d MMMM y", locale=LOCALE)


def hari(day: date) -> str:
    """The weekday: `Rabu`."""
    return format_date(day, "EEEE", locale=LOCALE)


def waktu(moment: datetime) -> str:
    """`2 Desember 2026 pukul 14.05 WITA`: the moment in the zone it carries (the office's)."""
    return f"{tanggal(moment.date())} pukul {moment:%H.%M} {moment.tzname() or ''}".rstrip()


def angka(number: int) -> str:
    """A whole number with the Indonesian thousands separator: `1.234.567`."""
    return format_decimal(number, locale=LOCALE)


def terbilang(number: int) -> str:
    """A whole number 0 ≤ n < 10^15 in words: 2026 → `dua ribu dua puluh enam`."""
    if not 0 <= number < 10**15:
        raise ValueError("terbilang takes 0 to 10^15 - 1")
    if number < 12:
        return _ONES[number]
    if number < 20:
        return f"{_ONES[number - 10]} belas"
    if number < 100:
        tens, rest = divmod(number, 10)
        return f"{_ONES[tens]} puluh" + (f" {_ONES[rest]}" if rest else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        head = "seratus" if hundreds == 1 else f"{_ONES[hundreds]} ratus"
        return head + (f" {terbilang(rest)}" if rest else "")
    for scale, name in _SCALES:
        if number >= scale:
            count, rest = divmod(number, scale)
            head = "seribu" if scale == 1000 and count == 1 else f"{terbilang(count)} {name}"
            return head + (f" {terbilang(rest)}" if rest else "")
    raise AssertionError("unreachable")


def jumlah(number: int, thing: str) -> str:
    """`1 (satu) berkas`: a count in figures and words, as letters state attachments."""
    return f"{angka(number)} ({terbilang(number)}) {thing}"


def tanggal_terbilang(day: date) -> str:
    """`hari Rabu tanggal dua bulan Desember tahun dua ribu dua puluh enam`, for a Berita Acara."""
    month = format_date(day, "MMMM", locale=LOCALE)
    return (
        f"hari {hari(day)} tanggal {terbilang(day.day)} bulan {month} tahun {terbilang(day.year)}"
    )


def peran(role: str) -> str:
    return ROLES.get(role, role)


def wilayah(region: Region) -> str:
    """`Kecamatan Batu Sopang (64.01.01)`, `Desa Busui, Kecamatan Batu Sopang (64.01.01.2010)`.

    A village code's last part starts with 1 for a kelurahan and 2 for a desa (Kemendagri)."""
    parts = region.code.split(".")
    if len(parts) == 4:
        kind = "Kelurahan" if parts[3].startswith("1") else "Desa"
        within = f", Kecamatan {region.kecamatan}" if region.kecamatan else ""
        return f"{kind} {region.name}{within} ({region.code})"
    if len(parts) == 3:
        return f"Kecamatan {region.name} ({region.code})"
    return f"{region.name} ({region.code})"


def ya_tidak(flag: bool) -> str:
    return "ya" if flag else "tidak"


def kata(table: dict[str, str], key: str) -> str:
    """The words for a term, or the term itself when the table does not know it."""
    return table.get(key, key)
