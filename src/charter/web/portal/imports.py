"""CSV uploads of partners, people, assessments and awards: a per-row report before anything
is written, then a confirmation bound to the file's SHA-256.

The preview runs the import itself inside a savepoint that is always rolled back (awards use
their check phase instead, which signs nothing), so the report says exactly what the import
would do. For awards with rejected rows, the eligible ones may be issued alone and the
rejected ones downloaded with the reason for each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import File, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.csvimport import Columns, ImportReport, read_csv
from charter.core.errors import Invalid
from charter.credentials import imports as award_imports
from charter.deps import DbSession, api_router
from charter.partners import imports as partner_imports
from charter.programs import imports as assessment_imports
from charter.web.i18n import N_
from charter.web.pages import render
from charter.web.portal.csvexport import csv_response
from charter.web.portal.forms import staff_only
from charter.web.portal.posted import Posted, signed_form
from charter.web.portal.uploads import MAX_UPLOAD_BYTES, SESSION_KEY, Pending, UploadStore

router = api_router(include_in_schema=False)

Importer = Callable[..., ImportReport]
UPLOAD_FIELDS = {"kind": 40, "csrf": 200}
CONFIRM_FIELDS = {"sha256": 64, "eligible_only": 10, "csrf": 200}
REJECTED_FIELDS = {"sha256": 64, "csrf": 200}


@dataclass(frozen=True, slots=True)
class Kind:
    """What a file may hold: its columns, who may import it, and the import."""

    key: str
    label: str
    permission: Permission
    columns: Columns
    run: Importer


KINDS = {
    kind.key: kind
    for kind in (
        Kind(
            "partners",
            "Partner firms",
            Permission.PARTNERS_WRITE,
            partner_imports.PARTNER_COLUMNS,
            partner_imports.import_partners,
        ),
        Kind(
            "people",
            "People",
            Permission.PEOPLE_WRITE,
            partner_imports.PEOPLE_COLUMNS,
            partner_imports.import_people,
        ),
        Kind(
            "assessments",
            "Assessments",
            Permission.ASSESSMENTS_WRITE,
            assessment_imports.ASSESSMENT_COLUMNS,
            assessment_imports.import_assessments,
        ),
        Kind(
            "awards",
            "Awards",
            Permission.AWARDS_ISSUE,
            award_imports.AWARD_COLUMNS,
            award_imports.import_awards,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What the import does with one line of the file."""

    line: int
    outcome: str
    detail: str


@dataclass(slots=True)
class Preview:
    """The per-row report of a file, and whether (and how) it may be confirmed."""

    kind: Kind
    file_name: str
    sha256: str
    rows: list[RowOutcome]
    problems: list[str]

    def count(self, outcome: str) -> int:
        """Rows with this outcome."""
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def has_errors(self) -> bool:
        """Whether any row (or the file itself) is refused."""
        return bool(self.problems) or self.count("error") > 0


def _store(request: Request) -> UploadStore:
    return UploadStore(Path(request.app.state.settings.data_dir))


def _kinds_for(principal: Principal) -> list[Kind]:
    return [kind for kind in KINDS.values() if principal.can(kind.permission)]


def _line_number(field: str) -> int | None:
    number = field.removeprefix("line ").strip()
    return int(number) if number.isdigit() else None


def _all_lines(data: bytes, columns: Columns, name: str) -> list[int]:
    file = read_csv(data, columns, name=name)
    return sorted({row.line for row in file.rows} | set(file.errors.by_line()))


def _outcomes(
    lines: list[int], report: ImportReport | None, errors: dict[int, list[str]]
) -> list[RowOutcome]:
    skipped = dict(report.skipped) if report else {}
    updated = {line: fields for line, _id, fields in report.updated} if report else {}
    rows = []
    for line in lines:
        if line in errors:
            rows.append(RowOutcome(line, "error", "; ".join(errors[line])))
        elif report is None:
            rows.append(RowOutcome(line, "valid", ""))
        elif line in updated:
            rows.append(RowOutcome(line, "updated", ", ".join(updated[line])))
        elif line in skipped:
            rows.append(RowOutcome(line, "skipped", f"{skipped[line]} is already imported"))
        else:
            rows.append(RowOutcome(line, "created", ""))
    return rows


def _refusal(error: Invalid) -> tuple[dict[int, list[str]], list[str]]:
    """An import's refusal as problems by line, and those of the file as a whole."""
    by_line: dict[int, list[str]] = {}
    general: list[str] = []
    for item in error.errors:
        line = _line_number(item.field)
        if line is None or line == 1:
            general.append(item.detail)
        else:
            by_line.setdefault(line, []).append(item.detail)
    if not error.errors:
        general.append(error.detail)
    return by_line, general


def preview(db: Session, principal: Principal, kind: Kind, data: bytes, name: str) -> Preview:
    """What importing ``data`` would do, row by row; nothing is written."""
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        lines = _all_lines(data, kind.columns, name)
    except Invalid as refused:
        return Preview(kind, name, sha256, [], _refusal(refused)[1])
    if kind.key == "awards":
        checked = award_imports.check_awards(db, principal, source=data, name=name)
        errors = {row.line: row.reasons for row in checked.rejected}
        return Preview(kind, name, sha256, _outcomes(lines, checked, errors), [])
    savepoint = db.begin_nested()
    try:
        report = kind.run(db, principal, source=data, name=name)
    except Invalid as refused:
        by_line, general = _refusal(refused)
        return Preview(kind, name, sha256, _outcomes(lines, None, by_line), general)
    finally:
        savepoint.rollback()
    return Preview(kind, name, sha256, _outcomes(lines, report, {}), [])


def _page(
    request: Request,
    principal: Principal,
    *,
    result: Preview | None = None,
    done: ImportReport | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "portal/imports.html",
        {
            "principal": principal,
            "kinds": _kinds_for(principal),
            "preview": result,
            "done": done,
            "problem": problem,
            "max_kib": MAX_UPLOAD_BYTES // 1024,
        },
        status_code=status_code,
    )


@router.get("/imports")
def imports_page(request: Request, db: DbSession) -> Response:
    """The upload form, offering the kinds of file the user may import."""
    principal = staff_only(request, db)
    if not isinstance(principal, Principal):
        return principal
    return _page(request, principal)


@router.post("/imports")
def upload(
    request: Request,
    db: DbSession,
    form: Posted,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Check an uploaded file and show what importing it would do; nothing is written."""
    posted = signed_form(request, db, form, UPLOAD_FIELDS, staff=True)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    chosen = KINDS.get(values["kind"])
    if chosen is None:
        return _page(request, principal, problem=N_("Choose what the file holds."), status_code=422)
    principal.require(chosen.permission)
    if file is None or not file.filename:
        return _page(request, principal, problem=N_("Choose a CSV file."), status_code=422)
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        problem = f"The file is larger than {MAX_UPLOAD_BYTES // 1024} KiB; import it with the CLI."
        return _page(request, principal, problem=problem, status_code=413)
    name = Path(file.filename).name[:200] or "upload.csv"
    result = preview(db, principal, chosen, data, name)
    store = _store(request)
    earlier = Pending.from_session(request.session.get(SESSION_KEY))
    if earlier is not None:
        store.drop(earlier.token)
    request.session.pop(SESSION_KEY, None)
    if not result.problems and result.rows:
        token = store.keep(data)
        request.session[SESSION_KEY] = Pending(token, result.sha256, chosen.key, name).as_session()
    return _page(request, principal, result=result, status_code=200)


def _pending(request: Request, sha256: str) -> tuple[Pending, bytes] | None:
    pending = Pending.from_session(request.session.get(SESSION_KEY))
    if pending is None or pending.sha256 != sha256:
        return None
    data = _store(request).read(pending.token, pending.sha256)
    return (pending, data) if data is not None else None


@router.post("/imports/confirm")
def confirm(request: Request, db: DbSession, form: Posted) -> Response:
    """Import the previewed file; the confirmation names its SHA-256, which must match."""
    posted = signed_form(request, db, form, CONFIRM_FIELDS, staff=True)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    found = _pending(request, values["sha256"])
    if found is None:
        problem = N_("This confirmation does not match the file last checked. Upload it again.")
        return _page(request, principal, problem=problem, status_code=409)
    pending, data = found
    kind = KINDS[pending.kind]
    try:
        with db.begin_nested():
            if kind.key == "awards":
                report: ImportReport = award_imports.import_awards(
                    db,
                    principal,
                    source=data,
                    name=pending.file_name,
                    eligible_only=values["eligible_only"] == "yes",
                )
            else:
                report = kind.run(db, principal, source=data, name=pending.file_name)
    except Invalid:
        # The records changed since the preview: show the file's report as it stands now.
        result = preview(db, principal, kind, data, pending.file_name)
        return _page(request, principal, result=result, status_code=409)
    _store(request).drop(pending.token)
    request.session.pop(SESSION_KEY, None)
    return _page(request, principal, done=report)


REJECTED_HEADER = ("line", "reason", *award_imports.AWARD_COLUMNS.all)


@router.post("/imports/rejected")
def rejected_rows(request: Request, db: DbSession, form: Posted) -> Response:
    """The previewed award file's rejected rows as CSV, each with its reason."""
    posted = signed_form(request, db, form, REJECTED_FIELDS, staff=True)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    found = _pending(request, values["sha256"])
    if found is None or found[0].kind != "awards":
        problem = N_("This download does not match the file last checked. Upload it again.")
        return _page(request, principal, problem=problem, status_code=409)
    pending, data = found
    checked = award_imports.check_awards(db, principal, source=data, name=pending.file_name)
    rows = [
        (
            row.line,
            "; ".join(row.reasons),
            *(row.values.get(name, "") for name in REJECTED_HEADER[2:]),
        )
        for row in checked.rejected
    ]
    return csv_response("rejected-awards.csv", REJECTED_HEADER, rows)
