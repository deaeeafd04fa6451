"""CSV exports of the portal's lists: streamed page by page, safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before reading a formula) would run as a formula when the file is opened:
such a cell gets a leading apostrophe, which spreadsheets show as text (OWASP's advice for
CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from charter.web.pages import SECURITY_HEADERS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_PAGE = 500


def neutralised(value: Any) -> str:
    """A cell's text, with an apostrophe before anything a spreadsheet would run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralised(cell) for cell in row])
        if buffer.tell() > 16 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


Row = Sequence[Any]
RowsPage = tuple[list[Row], str | None]
"""A page of an export: its rows, and the cursor to the next page (``None``: the last)."""


def export_rows(
    request: Request, first: RowsPage, fetch: Callable[[Session, str], RowsPage]
) -> Iterator[Row]:
    """Every row from the ``first`` page on; later pages read in a read transaction of their own.

    The request's own session has ended by the time the body streams. The first page was read
    in it, so a bad filter is still refused with an error page before anything is sent.
    """
    rows, cursor = first
    yield from rows
    if cursor is None:
        return
    with request.app.state.read_sessions() as db, db.begin():
        while cursor is not None:
            rows, cursor = fetch(db, cursor)
            yield from rows


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingResponse:
    """A streamed CSV download of ``rows`` under ``header``."""
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    return StreamingResponse(
        _lines(header, rows), media_type="text/csv; charset=utf-8", headers=headers
    )
