"""The plain data the office's letters are made from: the office itself (letterhead, signatory,
place, paper) and one frozen dataclass per letter.

gateway/services/letters.py fills them from the read models; the renderers only lay them out. Times
are aware datetimes already in the office's zone (their `tzname()` is printed: WITA), so nothing
here needs a clock, a database or a setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from agreements.scope import Delivery, Reidentification, Reporting

PAPERS = {"A4": (210.0, 297.0), "F4": (215.0, 330.0)}  # millimetres; F4 is the folio offices use


@dataclass(frozen=True)
class Letterhead:
    """The kop surat: two lines of authority, the address, an optional contact line and logo."""

    government: str  # PEMERINTAH KABUPATEN PASER
    office: str  # DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL
    address: str
    contact: str = ""
    logo: bytes | None = None  # PNG or JPEG, printed left of the text


@dataclass(frozen=True)
class Signatory:
    """Who signs the office's letters. An empty name or NIP prints a dotted line to write on."""

    title: str  # jabatan
    name: str = ""
    rank: str = ""  # pangkat/golongan
    nip: str = ""


@dataclass(frozen=True)
class Office:
    letterhead: Letterhead
    signatory: Signatory
    name: str  # the office in running text (the PKS's PIHAK PERTAMA)
    place: str  # where letters are dated: Tana Paser
    paper: str = "A4"


@dataclass(frozen=True)
class DispositionStep:
    """A disposition written on the sheet: SOP step 2 (Kepala Dinas) or 3 (Kepala Bidang)."""

    step: int
    by: str  # role and name
    to: str
    at: datetime
    instruction: str


@dataclass(frozen=True)
class Disposition:
    """Lembar Disposisi of a request; steps not taken yet print as empty rows to fill by hand."""

    request_id: int
    institution: str
    letter_number: str
    letter_date: date
    received_at: datetime
    purpose: str
    status: str  # in words
    steps: tuple[DispositionStep, ...]
    printed_on: date


@dataclass(frozen=True)
class Rejection:
    """Surat Penolakan (SOP step 4)."""

    number: str | None  # None: a dotted line for the outgoing-mail register's number
    dated: date
    institution: str
    letter_number: str
    letter_date: date
    purpose: str
    reason: str


@dataclass(frozen=True)
class Element:
    """A granted or delivered element and its mask as the signed scope renders it."""

    key: str
    label: str  # the catalog's Indonesian label
    letter: str | None  # its letter in UU 24/2013 art. 58(2), where it has one
    mask: Mapping[str, Any]  # {"mask": kind, parameter: value, ...}


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    kecamatan: str | None = None  # the kecamatan's name, for a village


@dataclass(frozen=True)
class Condition:
    """An extra row condition of the filter: `element` (its label) `op` (in, not_in) values."""

    element: str
    op: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Recipient:
    name: str
    fingerprint: str  # SHA256:… of the age key, as the manifest and the partner client show it
    contact: str = ""
    age_recipient: str = ""
    ip_allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class PksDraft:
    """Konsep PKS: the agreement version and its scope, exactly as stored and hashed."""

    number: str
    short_id: str
    version: int
    institution: str
    status: str  # in words
    scope_hash: str
    previous_scope_hash: str | None
    signed_at: datetime | None
    signer: str | None  # the signing key's fingerprint
    purpose: str
    legal_basis: tuple[str, ...]
    access_modes: tuple[str, ...]
    high_risk: bool
    high_risk_reason: str
    elements: tuple[Element, ...]
    regions: tuple[Region, ...] | None  # None: the whole kabupaten
    min_age: int
    max_age: int
    alive_only: bool
    active_only: bool
    include_minors: bool
    conditions: tuple[Condition, ...]
    recipients: tuple[Recipient, ...]
    valid_from: date
    valid_until: date
    delivery: Delivery | None
    reidentification: Reidentification
    reporting: Reporting
    printed_on: date


@dataclass(frozen=True)
class Handover:
    """One published delivery, as its signed manifest states it: the Surat Pengantar and the
    Berita Acara Serah Terima Data are both made from it."""

    number: str | None
    dated: date
    delivery_id: str
    institution: str
    agreement_number: str
    short_id: str
    version: int
    scope_hash: str
    published_at: datetime
    handed_over_by: str
    rows: int
    file_name: str
    file_format: str
    size: int
    sha256: str
    plaintext_sha256: str
    plaintext_size: int
    manifest_name: str
    manifest_sha256: str  # of the manifest file as published: the manifest's fingerprint
    elements: tuple[Element, ...]
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True)
class Disclosure:
    """One delivery that held the subject's record: who received it, under what, when."""

    institution: str
    agreement_number: str
    version: int
    delivered_at: datetime | None
    elements: tuple[str, ...]  # labels of the elements that agreement version grants


@dataclass(frozen=True)
class SubjectReply:
    """The reply to a data subject: their NIK only as `nik_shown` (masked by the caller)."""

    number: str | None
    dated: date
    nik_shown: str
    addressee: str | None
    reference: str | None  # the person's request, as the office registered it
    disclosures: tuple[Disclosure, ...]
