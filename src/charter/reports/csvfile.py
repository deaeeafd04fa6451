"""A report's table as CSV, safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before reading a formula) would run as a formula when the file is opened:
such a cell gets a leading apostrophe, which spreadsheets show as text (OWASP's advice on CSV
injection). Negative numbers are numbers, not text, and keep their sign.
"""

from __future__ import annotations

import csv
import io

from charter.reports.schemas import Cell, ReportTable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Cell) -> str:
    """A cell's text, with an apostrophe before anything a spreadsheet would run as a formula."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def table_csv(table: ReportTable) -> str:
    """``table`` as CSV text: a header of column keys, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.key for column in table.columns])
    for row in table.rows:
        writer.writerow([neutralised(row.get(column.key)) for column in table.columns])
    return buffer.getvalue()


def filename(report: str, table: str) -> str:
    """The download's file name (report and table names are the project's own slugs)."""
    return f"charter-{report}-{table}.csv"
