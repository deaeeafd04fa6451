"""The report pages' charts: SVG drawn on the server by pygal, from the reports' own tables.

Server-rendered SVG reads without JavaScript, prints crisply and needs no asset beyond the
image itself. pygal's tooltip script (which it would fetch from elsewhere) is left out; every
chart is followed on its page by the table of the figures it draws.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.style import Style

from charter.reports.schemas import Cell, ReportOut
from charter.web.i18n import N_, SOURCE, Language

# pygal appends an import hook for its map plugins to sys.meta_path; it predates find_spec, so
# every later import that reaches it warns (an error under the tests' warnings policy), and
# Python 3.12 ignores it. Charter draws no maps: the hook goes.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__module__ != pygal.__name__]

PRINTABLE = Style(
    background="white",
    plot_background="white",
    foreground="#1d2433",
    foreground_strong="#1d2433",
    foreground_subtle="#5b6477",
    opacity=".9",
    opacity_hover="1",
    colors=("#2855c5", "#b42318", "#1f7a4d", "#9a6700", "#6b4fbb", "#5b6477"),
    font_family="system-ui, Arial, sans-serif",
    title_font_size=18,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    value_font_size=12,
    no_data_font_size=20,
)


NOTHING_TO_SHOW = N_("Nothing to show")


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart of a report: the table it draws, its x labels and its series of values."""

    key: str
    title: str
    table: str
    x: Callable[[dict[str, Cell]], str]
    series: tuple[tuple[str, str], ...]
    x_title: str
    y_title: str
    kind: str = "bar"  # "bar", "stacked" or "line"


def _column(key: str) -> Callable[[dict[str, Cell]], str]:
    return lambda row: str(row.get(key) or "")


CHARTS: dict[str, tuple[Chart, ...]] = {
    "certified-headcount": (
        Chart(
            "totals", N_("Certified people at each month's end"), "totals", _column("month"),
            (("people", N_("Certified people")),), N_("Month"), N_("People"), "line",
        ),
    ),
    "time-to-certify": (
        Chart(
            "quartiles", N_("Days from first assessment to award"), "certifications",
            _column("code"),
            (
                ("q1_days", N_("First quartile")), ("median_days", N_("Median")),
                ("q3_days", N_("Third quartile")),
            ),
            N_("Certification"), N_("Days"),
        ),
    ),
    "renewals": (
        Chart(
            "rates", N_("Renewal and lapse rates"), "certifications", _column("code"),
            (("renewal_rate", N_("Renewal rate")), ("lapse_rate", N_("Lapse rate"))),
            N_("Certification"), N_("Percent of periods that came due"),
        ),
    ),
    "expiry-timeline": (
        Chart(
            "weeks", N_("Awards expiring each week"), "weeks", _column("starts"),
            (("awards", N_("Awards expiring")),), N_("Week starting"), N_("Awards"),
        ),
    ),
    "firms-at-risk": (
        Chart(
            "tiers", N_("Firms at risk per tier"), "tiers", _column("tier"),
            (("at_risk_now", N_("At risk now")), ("falls_below", N_("Fall below in the horizon"))),
            N_("Tier"), N_("Firms"),
        ),
    ),
    "tier-movements": (
        Chart(
            "months", N_("Tier changes per month"), "months", _column("month"),
            (
                ("upgraded", N_("Upgraded")), ("downgraded", N_("Downgraded")),
                ("at_risk", N_("Put at risk")), ("recovered", N_("Recovered")),
            ),
            N_("Month"), N_("Firms"),
        ),
    ),
    "criteria-impact": (
        Chart(
            "versions", N_("People affected per criteria version"), "versions",
            lambda row: f"{row.get('code')} v{row.get('version')}",
            (("people_affected", N_("People affected")), ("awarded_under", N_("Awarded under it"))),
            N_("Criteria version"), N_("People"),
        ),
    ),
    "webhook-health": (
        Chart(
            "endpoints", N_("Deliveries per endpoint"), "endpoints", _column("endpoint_id"),
            (("delivered", N_("Delivered")), ("failed", N_("Failed")), ("pending", N_("Pending"))),
            N_("Endpoint"), N_("Deliveries"), "stacked",
        ),
    ),
    "licensing": (
        Chart(
            "alerts", N_("License alerts by severity"), "alerts", _column("severity"),
            (
                ("open", N_("Open")), ("acknowledged", N_("Acknowledged")),
                ("resolved", N_("Resolved")),
            ),
            N_("Severity"), N_("Alerts"), "stacked",
        ),
        Chart(
            "seats", N_("Seats of active licenses and activations using them"), "seats",
            _column("product"), (("seats", N_("Seats")), ("in_use", N_("Active activations"))),
            N_("Product"), N_("Seats"),
        ),
    ),
}  # fmt: skip


def charts_of(report: str) -> tuple[Chart, ...]:
    """The charts of the report named ``report``."""
    return CHARTS.get(report, ())


def chart_of(report: str, key: str) -> Chart | None:
    """The chart ``key`` of ``report``, if there is one."""
    return next((chart for chart in charts_of(report) if chart.key == key), None)


def _number(value: Cell) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def render_svg(report: ReportOut, chart: Chart, language: Language = SOURCE) -> str:
    """``chart`` of ``report`` as an SVG document, its titles and legend in ``language``."""
    kinds: dict[str, Any] = {"bar": pygal.Bar, "stacked": pygal.StackedBar, "line": pygal.Line}
    rows = report.table(chart.table).rows
    text = language.text
    drawing = kinds[chart.kind](
        title=text(chart.title),
        x_title=text(chart.x_title),
        y_title=text(chart.y_title),
        style=PRINTABLE,
        js=[],
        disable_xml_declaration=True,
        width=880,
        height=400,
        legend_at_bottom=True,
        truncate_label=-1,
        truncate_legend=-1,
        x_label_rotation=30 if len(rows) > 8 else 0,
        print_values=len(rows) <= 16,
        min_scale=1,
        no_data_text=text(NOTHING_TO_SHOW),
    )
    drawing.x_labels = [chart.x(row) for row in rows]
    for key, label in chart.series:
        drawing.add(text(label), [_number(row.get(key)) for row in rows])
    svg: str = drawing.render(is_unicode=True)
    return svg
