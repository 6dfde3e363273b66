"""The scope rules' refusals (agreements/policy.py: the leak guard and the legal guards) in words
an officer reads, in the page's language. A rule is known by the start of its text; the
agreements package keeps its own (English, exact) text for the CLI and the audit log, and the
page shows it too, beside these words. A rule not listed here is shown as it is."""

from __future__ import annotations

from gateway.web.i18n import _
from gateway.web.words import N_

# (the start of the rule's text, the officer's words), most specific first.
RULES = (
    ("protected element", N_(
        "This element is specially protected (UU 24/2013 art. 84): it can never be shared or "
        "used to choose whose records go."
    )),
    ("high-risk element", N_(
        "This element is high-risk: tick the high-risk grant and write the reason for it."
    )),
    ("children's records", N_(
        "Children's records are specific personal data (UU 27/2022): including minors needs the "
        "high-risk grant and its reason."
    )),
    ("leaks another person's birth date", N_(
        "The digits of this NIK that would be kept reveal another person's birth date and sex: "
        "keep at most the first 6 and last 4 digits, or use a pseudonym (token)."
    )),
    ("leaks the birth date", N_(
        "The NIK digits that would be kept show the birth date more exactly than this agreement "
        "grants it: keep at most the first 6 and last 4 digits, use a pseudonym, or grant the "
        "birth date."
    )),
    ("leaks sex", N_(
        "The NIK digits that would be kept show the person's sex, which this agreement withholds: "
        "keep at most the first 6 digits, or grant sex."
    )),
    ("leaks the address", N_(
        "The KK digits that would be kept show the kecamatan, which this agreement withholds: keep "
        "at most the first 4 digits, use a pseudonym, or grant the kecamatan."
    )),
    ("at least one element", N_("Grant at least one data element.")),
    ("at least one recipient", N_("Name at least one recipient.")),
    ("below 18 while include_minors", N_(
        "An oldest age below 18 without including minors selects nobody."
    )),
    ("each must fall after validity.start", N_(
        "Each report date must fall after the agreement starts."
    )),
)  # fmt: skip


def rule_words(rule: str) -> str | None:
    """The officer's words for a scope rule's refusal, translated; None for an unlisted rule."""
    for start, words in RULES:
        if rule.startswith(start):
            return _(words)
    return None
