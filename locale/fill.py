"""Fill locale/fa/LC_MESSAGES/django.po from the translation tables beside it, then compile.

    python locale/fill.py        (after `manage.py makemessages -l fa`)

Entries already translated in django.po are kept; the tables win where both exist.
"""

import importlib.util
import sys
from pathlib import Path

import polib

HERE = Path(__file__).resolve().parent


def tables() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((HERE / "fa").glob("translations_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        merged.update(module.FA)
    return merged


def main() -> int:
    po_path = HERE / "fa" / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    translations = tables()
    for entry in po:
        if entry.msgid in translations:
            text = translations[entry.msgid]
            if entry.msgid_plural:
                # Persian puts the singular noun after a number: one text for both forms.
                entry.msgstr_plural = {0: text, 1: text}
            else:
                entry.msgstr = text
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        elif "fuzzy" in entry.flags:
            # msgmerge's guess from a similar msgid is usually wrong: missing, not translated.
            entry.flags.remove("fuzzy")
            entry.previous_msgid = entry.previous_msgid_plural = None
            if entry.msgid_plural:
                entry.msgstr_plural = {0: "", 1: ""}
            else:
                entry.msgstr = ""
    po.metadata["Language"] = "fa"
    po.metadata["Plural-Forms"] = "nplurals=2; plural=(n > 1);"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.save()
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    missing = [
        e.msgid
        for e in po
        if not e.obsolete
        and (not all(e.msgstr_plural.values()) if e.msgid_plural else not e.msgstr)
    ]
    print(f"{len(po) - len(missing)} translated, {len(missing)} missing", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
