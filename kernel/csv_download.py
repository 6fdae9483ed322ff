"""The product's CSV files: the one spreadsheet-safe cell rule and the one download response.

`neutralize` (OWASP "CSV Injection"): a cell that begins with `=`, `+`, `-`, `@`, a tab or a
carriage return is run as a formula by spreadsheet programs; such a cell is prefixed with a single
quote, which makes it text. A genuine negative number in a numeric column (study day -1) is a
number, not a formula, and is kept. The IPD export writes its files with it; the CSV pages of the
product (security log, audit log) answer with `csv_download`, which passes every cell through it.

Every CSV download is an attachment that no cache keeps (`Cache-Control: no-store`: the files
carry study IDs, user names and addresses), in UTF-8.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from django.utils import timezone

from .cells import neutralize

CONTENT_TYPE = "text/csv; charset=utf-8"


def csv_attachment(content: str, *, filename: str) -> HttpResponse:
    """A CSV file, already written, as a download: the headers every CSV of the product has."""
    response = HttpResponse(content, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def csv_download(
    *,
    filename_stem: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    stamp: bool = True,
) -> HttpResponse:
    """A table as a CSV download (RFC 4180 line ends), every cell through `neutralize`.

    With `stamp`, the file name ends with the UTC moment (`audit-log-20250101T120000Z.csv`), so
    that successive downloads for an inspector do not overwrite each other.
    """
    moment = f"-{timezone.now():%Y%m%dT%H%M%SZ}" if stamp else ""
    response = csv_attachment("", filename=f"{filename_stem}{moment}.csv")
    writer = csv.writer(response)
    writer.writerow([neutralize(name) for name in header])
    for row in rows:
        writer.writerow([neutralize(value) for value in row])
    return response
