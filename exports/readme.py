"""The README.txt of an export: what it is, how it was made, and the SHA-256 of every file."""

from __future__ import annotations

from datetime import datetime

from kernel.trial import TRIAL

from .columns import Table, age_label

RULES = (
    "No names, national IDs, hospital record numbers, phone numbers, addresses, e-mail "
    "addresses or other contact data (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)).",
    "No calendar dates: every date is a study day, the number of days from Day 0 (the day of "
    "randomization and infusion); a date-time becomes the study day of its date at the site.",
    'No date of birth: age in whole years at screening; ages above {top} are given as "{group}".',
    "Free text (notes, reasons, verbatim AE terms, descriptions, other comorbidities) is left "
    "out; coded values stay. An AE term not yet coded is left out.",
    "Participants are identified by a random export ID, the same in every file of one release "
    "and in every export of that release, different in a new release; it cannot be derived "
    "from the study ID (HMAC-SHA256 under a key kept on the server).",
    "Site codes are kept; no geographic unit smaller than a state.",
    "Rows are sorted by export ID, then study day: the order carries no information.",
    "Cells that a spreadsheet would run as a formula (beginning with =, +, -, @, tab or "
    "carriage return) begin with a single quote ('); negative numbers in numeric columns are "
    "numbers and are kept.",
)


def _changes_lines(changes: list[dict] | None) -> list[str]:
    """What changed after the trial-level unblinding (issue 20): said in every export after it."""
    if changes is None:
        return []
    if not changes:
        return [
            "Changes after unblinding: none. No exported value was changed after the "
            "trial-level unblinding (changes_after_unblinding.csv has its header only).",
            "",
        ]
    lines = [
        f"Changes after unblinding: {len(changes)} exported values were changed after the "
        "trial-level unblinding, by people who could know the arms; each is a row of "
        "changes_after_unblinding.csv (export ID, file, visit, variable, old and new value):",
    ]
    lines += [
        f"  {c['export_id']} {c['file']} {c['visit']} {c['variable']}: "
        f"{c['old_value']} -> {c['new_value']}"
        for c in changes
    ]
    return [*lines, ""]


def readme_text(
    *,
    run,
    created: datetime,
    software_version: str,
    with_arm: bool,
    all_tables: list[Table],
    checksums: dict[str, str],
    row_counts: dict[str, int],
    changes_after_unblinding: list[dict] | None = None,
) -> str:
    blinding = (
        "UNBLINDED: the trial-level unblinding is complete; participants.csv and odm.xml "
        "carry the arm."
        if with_arm
        else "BLINDED: the trial is not unblinded; no file carries the arm, and nothing in the "
        "order or the number of rows reveals it."
    )
    lines = [
        f"De-identified individual participant data — {TRIAL.acronym}",
        f"Trial: {TRIAL.registry_id} · {TRIAL.public_title}",
        f"Scientific title: {TRIAL.scientific_title}",
        "",
        f"Export: run {run.pk}, release {run.release.number}",
        f"Exported at (UTC): {created.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"Software: Trial EDC {software_version}",
        f"Blinding: {blinding}",
        "",
        "Files (rows):",
    ]
    for table in all_tables:
        lines.append(
            f"  {table.filename:<24} {row_counts.get(table.filename, 0):>8}  {table.label}"
        )
    lines += [
        "  data_dictionary.csv      variable, label, type, unit and allowed values of every column",
        "  odm.xml                  the same data as CDISC ODM 1.3.2",
        "  stata/<file>.dta         each table for Stata 14+ (coded text stored as 1, 2, … with",
        "                           value labels 'code = label', in the dictionary's order)",
        "  spss/<file>.sav          each table for SPSS, with variable and value labels",
        "  sas/<file>.xpt           each table as SAS transport (version 8 where a name is",
        "                           longer than 8 characters, else 5); sas/formats.sas reads",
        "                           them and applies the formats and labels",
        "  r/read_ipd.R             reads the CSVs into R with types, factors and labels",
        "  The four packages' files hold the same cells as the CSVs, row for row.",
        "",
        *_changes_lines(changes_after_unblinding),
        "De-identification rules applied:",
    ]
    top = TRIAL.export_age_top_code
    for number, rule in enumerate(RULES, start=1):
        lines.append(f"  {number}. {rule.format(top=top, group=age_label())}")
    left_out = [f"{t.filename}: {', '.join(t.left_out)}" for t in all_tables if t.left_out]
    if left_out:
        lines += ["", "Free-text fields left out:"] + [f"  {entry}" for entry in left_out]
    lines += [
        "",
        "SHA-256 checksums (check with: grep -E '^[0-9a-f]{64}  ' README.txt | sha256sum -c):",
    ]
    lines += [f"{digest}  {name}" for name, digest in checksums.items()]
    return "\n".join(lines) + "\n"
