"""The shape every report takes: named tables of figures, the same on pages, in JSON and CSV."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

Cell = str | int | float | None
"""One figure or label of a report's table."""


class ColumnKind(StrEnum):
    """How a column's values read: text, a count, a number, a percentage, a date."""

    TEXT = "text"
    COUNT = "count"
    NUMBER = "number"
    PERCENT = "percent"
    DATE = "date"


class ReportColumn(BaseModel):
    """One column of a report's table."""

    key: str = Field(description="The column's name in each row and in the CSV header.")
    label: str = Field(description="The column's heading on the page.")
    kind: ColumnKind = Field(description="How its values read.")


class ReportTable(BaseModel):
    """One table of a report: its columns, then its rows in order."""

    key: str = Field(description="The table's name: `?table=` picks it for a CSV download.")
    title: str = Field(description="What the table shows.")
    columns: list[ReportColumn] = Field(description="The columns, in order.")
    rows: list[dict[str, Cell]] = Field(description="The rows; each maps column keys to values.")

    def column(self, key: str) -> list[Cell]:
        """Every row's value of column ``key``."""
        return [row.get(key) for row in self.rows]


class ReportOut(BaseModel):
    """A program report: what it measures, when, and its tables of figures."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "renewals",
                    "title": "Renewal and lapse rates",
                    "description": "Per certification: awards that came due, renewed or lapsed.",
                    "generated_at": "2026-03-01T12:00:00Z",
                    "parameters": {},
                    "tables": [
                        {
                            "key": "certifications",
                            "title": "Renewals and lapses per certification",
                            "columns": [
                                {"key": "code", "label": "Certification", "kind": "text"},
                                {"key": "renewed", "label": "Renewed", "kind": "count"},
                            ],
                            "rows": [{"code": "ADM-201", "renewed": 4}],
                        }
                    ],
                }
            ]
        }
    )

    name: str = Field(description="The report's name, as in its address.")
    title: str = Field(description="The report's title.")
    description: str = Field(description="What the figures count, and how.")
    generated_at: datetime = Field(description="When the figures were computed (UTC).")
    parameters: dict[str, str] = Field(description="The parameters the figures were computed for.")
    tables: list[ReportTable] = Field(description="The report's tables, the main one first.")

    def table(self, key: str) -> ReportTable:
        """The table named ``key``."""
        return next(table for table in self.tables if table.key == key)


class Figure(BaseModel):
    """One headline figure of the KPI summary, this period against the one before."""

    key: str = Field(description="The figure's name.")
    label: str = Field(description="What it counts.")
    current: int = Field(description="Its value in the period.")
    previous: int = Field(description="Its value in the previous period of the same length.")

    @property
    def change(self) -> int:
        """The period's value less the previous period's."""
        return self.current - self.previous

    @property
    def change_percent(self) -> float | None:
        """The change as a percentage of the previous value; ``None`` from zero."""
        if self.previous == 0:
            return None
        return round(100.0 * self.change / self.previous, 1)


class Summary(BaseModel):
    """The program's headline figures for a period and the previous period of the same length."""

    start: date = Field(description="The period's first day.")
    end: date = Field(description="The period's last day.")
    previous_start: date = Field(description="The previous period's first day.")
    previous_end: date = Field(description="The previous period's last day.")
    generated_at: datetime = Field(description="When the figures were computed (UTC).")
    figures: list[Figure] = Field(description="The headline figures.")
    tiers: list[Figure] = Field(description="Firms holding each tier at each period's end.")
    alerts: list[Figure] = Field(description="License alerts opened, per severity.")


def make_table(
    key: str,
    title: str,
    columns: list[tuple[str, str, ColumnKind]],
    rows: list[dict[str, Cell]],
) -> ReportTable:
    """A report table from ``(key, label, kind)`` columns and its rows."""
    return ReportTable(
        key=key,
        title=title,
        columns=[ReportColumn(key=k, label=label, kind=kind) for k, label, kind in columns],
        rows=rows,
    )


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, to one decimal; ``None`` when ``whole`` is zero."""
    if whole == 0:
        return None
    return round(100.0 * part / whole, 1)


def days(value: float | None) -> float | None:
    """A duration in days, to one decimal."""
    return None if value is None else round(float(value), 1)
