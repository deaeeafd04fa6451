"""``charter import ...`` and ``charter awards bulk``: CSV files in, all-or-nothing."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer
from sqlalchemy.orm import Session

from charter.cli.common import RichProgress, console, operator, transaction
from charter.core.auth import Principal
from charter.core.csvimport import ImportReport, Progress

import_app = typer.Typer(
    help="Import partners, people and assessments from CSV (all-or-nothing; re-runs are safe).",
    no_args_is_help=True,
)
awards_app = typer.Typer(help="Awards in bulk.", no_args_is_help=True)

CsvPath = Annotated[
    Path,
    typer.Argument(
        exists=True, dir_okay=False, readable=True, help="UTF-8 CSV file with a header line."
    ),
]
Importer = Callable[..., ImportReport]
SHOWN_SKIPPED = 10


def _run(importer: Importer, path: Path, what: str) -> None:
    with RichProgress() as progress, transaction() as db:
        report = _call(importer, db, operator(db), path, progress)
    _print_report(report, what)


def _print_report(report: ImportReport, what: str) -> None:
    out = console()
    updated = f", {len(report.updated)} updated" if report.updated else ""
    out.print(
        f"{report.file_name}: {report.rows} row{'s' if report.rows != 1 else ''}, "
        f"{report.created} {what} created{updated}, {report.skipped_count} skipped",
        markup=False,
    )
    for line, external_id, fields in report.updated[:SHOWN_SKIPPED]:
        out.print(f"  line {line}: {external_id}: updated {', '.join(fields)}", markup=False)
    if len(report.updated) > SHOWN_SKIPPED:
        out.print(f"  ... and {len(report.updated) - SHOWN_SKIPPED} more updated", markup=False)
    for line, external_id in report.skipped[:SHOWN_SKIPPED]:
        out.print(f"  line {line}: {external_id}: skipped, already imported", markup=False)
    if report.skipped_count > SHOWN_SKIPPED:
        more = report.skipped_count - SHOWN_SKIPPED
        out.print(f"  ... and {more} more skipped, already imported", markup=False)


def run_import(importer: Importer, path: Path, what: str) -> None:
    """Run ``importer`` on a CSV file as the operator, all-or-nothing, and print its report."""
    _run(importer, path, what)


def _call(
    importer: Importer, db: Session, actor: Principal, path: Path, progress: Progress
) -> ImportReport:
    return importer(db, actor, source=path, progress=progress)


@import_app.command("partners")
def import_partners(file: CsvPath) -> None:
    """Partner firms: external_id,name,type,regions,country,website."""
    from charter.partners.imports import import_partners as importer

    _run(importer, file, "partners")


@import_app.command("people")
def import_people(file: CsvPath) -> None:
    """People: external_id,partner_external_id,given_name,family_name,track,emails."""
    from charter.partners.imports import import_people as importer

    _run(importer, file, "people")


@import_app.command("assessments")
def import_assessments(file: CsvPath) -> None:
    """Assessments: external_id,person_external_id,kind,code,score,passed,assessor,...

    Also occurred_at (ISO 8601 with a zone), evidence_url, evidence_sha256.
    """
    from charter.programs.imports import import_assessments as importer

    _run(importer, file, "assessments")


CREDENTIAL_COLUMNS = (
    "award_id",
    "external_id",
    "person_id",
    "person_external_id",
    "credential_id",
    "credential_url",
)
"""The columns ``charter awards bulk --credentials-csv`` writes, one row per issued award."""


@awards_app.command("bulk")
def awards_bulk(
    file: CsvPath,
    credentials_csv: Annotated[
        Path | None,
        typer.Option(
            "--credentials-csv",
            dir_okay=False,
            writable=True,
            help="Also write each issued award's credential and its public URL to this CSV "
            "file (" + ",".join(CREDENTIAL_COLUMNS) + "); written only if the awards are.",
        ),
    ] = None,
) -> None:
    """Issue awards: external_id,person_external_id,certification_code[,override_reason]."""
    from charter.credentials.imports import import_awards as importer

    if credentials_csv is None:
        _run(importer, file, "awards")
        return
    from charter.credentials.service import credential_links

    with _replaced_on_success(credentials_csv) as output:
        with RichProgress() as progress, transaction() as db:
            actor = operator(db)
            report = importer(db, actor, source=file, progress=progress)
            links = credential_links(
                db, actor, award_ids=[issued.award_id for issued in report.issued]
            )
        writer = csv.writer(output, lineterminator="\n")
        writer.writerow(CREDENTIAL_COLUMNS)
        for issued in report.issued:
            link = links[issued.award_id]
            writer.writerow([*issued, link.id, link.url])
    _print_report(report, "awards")
    console().print(
        f"{credentials_csv}: {len(report.issued)} credential"
        f"{'s' if len(report.issued) != 1 else ''} written",
        markup=False,
    )


@contextmanager
def _replaced_on_success(path: Path) -> Iterator[TextIO]:
    """A text file that replaces ``path`` when the block succeeds, and vanishes if it fails.

    Made before the block runs, so an unwritable place is refused before anything changes.
    """
    try:
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise typer.BadParameter(
            f"cannot write there: {error.strerror}", param_hint="--credentials-csv"
        ) from None
    try:
        with open(handle, "w", encoding="utf-8", newline="") as output:
            yield output
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
