"""Persian translations of the one PDF frame's strings (msgid -> msgstr), applied by locale/fill.py."""

FA = {
    "Generated %(when)s UTC": "تولیدشده در %(when)s UTC",
}
