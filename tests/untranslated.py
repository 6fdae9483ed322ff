"""Find interface strings left in English on a page served in Persian.

The msgids of the Persian catalogue are the interface's English strings. A text node of a
Persian page (or a title, placeholder, aria-label, alt or value shown to the reader) that is one
of them, placeholders filled, was not translated at render time: a string never passed through
gettext, a gettext run at import time instead of gettext_lazy, or a catalogue entry missing.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import polib

CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "fa" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdf]|%[sd]|\{[a-z_0-9]*\}")
# English msgids that are the same in Persian: codes, units, abbreviations, proper names.
ALLOWED = {
    "SAE",
    "SUSAR",
    "AE",
    "CRF",
    "CRFs",
    "SDV",
    "CIOMS",
    "ODM",
    "CSV",
    "PDF",
    "IPD",
    "ZIP",
    "DSMB",
    "CONSORT",
    "P/F",
    "PaO₂",
    "FiO₂",
    "PEEP",
    "CRP",
    "ECMO",
    "mmHg",
    "cmH₂O",
    "ml",
    "mg/L",
    "kg",
    "cm",
    "UTC",
    "English",
    "ID",
    "OK",
    "D0",
    "D3",
    "D7",
    "D14",
    "D28",
    "D60",
}
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


@cache
def _patterns():
    exact, templates = set(), []
    for entry in polib.pofile(str(CATALOGUE)):
        if entry.msgstr == entry.msgid:
            continue  # the same in Persian, by the translator's choice (codes, units)
        for msgid in filter(None, (entry.msgid, entry.msgid_plural)):
            text = " ".join(msgid.split())
            if not re.search(r"[A-Za-z]{2}", text) or text in ALLOWED:
                continue
            if PLACEHOLDER.search(text):
                parts = PLACEHOLDER.split(text)
                if sum(len(p.strip()) for p in parts) >= 8:  # enough English to be sure
                    templates.append(".+?".join(re.escape(p) for p in parts))
            elif not re.search(r"<[a-z]", text):
                exact.add(text)
    combined = re.compile("|".join(f"(?:{t})" for t in templates)) if templates else None
    return frozenset(exact), combined


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Shown(HTMLParser):
    """Text nodes and reader-facing attributes, outside <script> and <style>, outside
    elements marked as another language (`lang="en"`: e-mail subjects as sent, for instance)
    and outside elements marked `translate="no"` (HTML's own mark for content not to be
    translated: text recorded as someone wrote it, such as the warnings a coordinator
    confirmed, in the language the page had then)."""

    def __init__(self):
        super().__init__()
        self.shown: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hidden)

    @property
    def _hidden(self) -> bool:
        return bool(self._stack) and self._stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = (attrs.get("lang") or "fa").split("-")[0]
        hidden = (
            self._hidden
            or tag in ("script", "style", "template")
            or lang != "fa"
            or attrs.get("translate") == "no"
        )
        if not hidden:
            for name in SHOWN_ATTRIBUTES:
                if attrs.get(name):
                    self.shown.append(attrs[name])
            if tag == "input" and attrs.get("type") == "submit" and attrs.get("value"):
                self.shown.append(attrs["value"])
        if tag not in VOID:
            self._stack.append((tag, hidden))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self._stack:
            self._stack.pop()

    def handle_endtag(self, tag):
        # Pop to the matching open tag (HTML lets some end tags be left out).
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                break

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.shown.append(data)


def untranslated(html: str) -> list[str]:
    """The English interface strings shown on `html`, a page served in Persian."""
    exact, combined = _patterns()
    parser = _Shown()
    parser.feed(html)
    found = []
    for text in parser.shown:
        text = " ".join(text.split())
        if text in exact or (combined is not None and combined.fullmatch(text)):
            found.append(text)
    return found
