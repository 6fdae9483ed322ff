"""The Persian catalogue is whole and compiled (docs/i18n.md): one source, django.po."""

from pathlib import Path

import polib

PO = Path(__file__).resolve().parent.parent / "locale" / "fa" / "LC_MESSAGES" / "django.po"


def _catalogue(entries) -> dict:
    return {
        (e.msgctxt, e.msgid, e.msgid_plural): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
        for e in entries
        if e.msgid
    }


def test_every_interface_string_has_its_persian_and_none_is_a_guess():
    po = polib.pofile(str(PO))
    missing = [
        e.msgid
        for e in po
        if not e.obsolete
        and (not all(e.msgstr_plural.values()) if e.msgid_plural else not e.msgstr)
    ]
    fuzzy = [e.msgid for e in po if "fuzzy" in e.flags and not e.obsolete]
    assert not missing, f"untranslated in django.po (make messages, then translate): {missing[:5]}"
    assert not fuzzy, f"fuzzy (msgmerge's guesses) in django.po: check and unmark {fuzzy[:5]}"


def test_the_compiled_catalogue_is_the_po_file():
    """django.mo is what `make messages` compiles from django.po, not an older state of it."""
    po = polib.pofile(str(PO))
    mo = polib.mofile(str(PO.with_suffix(".mo")))
    translated = [e for e in po if not e.obsolete and "fuzzy" not in e.flags]
    assert _catalogue(mo) == _catalogue(translated), "django.mo is stale: run `make messages`"


def test_persian_plurals_are_declared():
    po = polib.pofile(str(PO))
    assert po.metadata["Plural-Forms"] == "nplurals=2; plural=(n > 1);"
    assert po.metadata["Language"] == "fa"
