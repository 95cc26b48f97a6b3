"""The pages' charts as Apache ECharts options, built here (texts in the reader's language) and drawn in
the browser by web/static/web/charts.js from the JSON the template embeds with json_script.

Every chart is a cartesian one, so it shows its axes even before there is any data. A chart never gets
more than MAX_BARS bars: a 12,000-school ranking shows its top and bottom ends.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .labels import CASE_TYPE, STATUS, TARGET_KIND

MAX_BARS = 40
STATUS_COLORS = {
    "not_started": "#94a3b8",
    "in_progress": "#3b82f6",
    "submitted": "#f59e0b",
    "returned": "#ef4444",
    "approved": "#16a34a",
}
PRIMARY = "#1d4f91"
WARN = "#d97706"
DANGER = "#b91c1c"
OK = "#15803d"


def percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _empty(option: dict[str, Any], has_data: bool) -> dict[str, Any]:
    if not has_data:
        option["graphic"] = {
            "type": "text",
            "left": "center",
            "top": "middle",
            "style": {"text": _("No data yet"), "fill": "#94a3b8", "fontSize": 14},
        }
    return option


def _grid(left: int = 8) -> dict[str, Any]:
    return {"left": left, "right": 16, "top": 36, "bottom": 8, "containLabel": True}


def completion(rows: list[dict[str, Any]], *, key: str) -> dict[str, Any]:
    """Completion rate per row (school or child unit), highest first; the two ends when there are many."""
    ranked = sorted(rows, key=lambda row: (-(row["completion_rate"] or 0), row[key]["name"]))
    title = _("Completion rate")
    if len(ranked) > MAX_BARS:
        half = MAX_BARS // 2
        ranked = ranked[:half] + ranked[-half:]
        title = _("Completion rate: the top %(n)s and the bottom %(n)s of %(total)s") % {
            "n": half,
            "total": len(rows),
        }
    names = [row[key]["name"] for row in ranked]
    values = [percent(row["completion_rate"]) or 0 for row in ranked]
    option = {
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis", "valueFormatter": "percent"},
        "grid": _grid(),
        "xAxis": {
            "type": "category",
            "data": names,
            "axisLabel": {"interval": 0, "rotate": 40 if len(names) > 4 else 0, "width": 110, "overflow": "truncate"},
        },
        "yAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [{"type": "bar", "name": title, "data": values, "itemStyle": {"color": PRIMARY}, "barMaxWidth": 28}],
    }
    return _empty(option, any(row["tasks"] for row in rows))


def status(totals: dict[str, Any]) -> dict[str, Any]:
    """Tasks by status: one bar per status, in its colour."""
    codes = ["not_started", "in_progress", "submitted", "returned", "approved"]
    option = {
        "title": {"text": _("Tasks by status"), "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "grid": _grid(),
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [str(STATUS[c]) for c in codes], "inverse": True},
        "series": [
            {
                "type": "bar",
                "name": _("Tasks"),
                "data": [{"value": totals.get(c) or 0, "itemStyle": {"color": STATUS_COLORS[c]}} for c in codes],
                "barMaxWidth": 22,
                "label": {"show": True, "position": "right"},
            }
        ],
    }
    return _empty(option, bool(totals.get("tasks")))


def trend(points: list[dict[str, Any]]) -> dict[str, Any]:
    """The daily completion and on-time rates (left axis, %) and overdue tasks (right axis)."""
    dates = [point["date"].isoformat() for point in points]
    completion_name, on_time_name, overdue_name = _("Completion rate"), _("On-time rate"), _("Overdue tasks")
    option = {
        "title": {"text": _("Trend"), "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "right": 0, "data": [completion_name, on_time_name, overdue_name]},
        "grid": {**_grid(), "top": 48},
        "xAxis": {"type": "category", "data": dates, "boundaryGap": False},
        "yAxis": [
            {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
            {"type": "value", "minInterval": 1, "splitLine": {"show": False}},
        ],
        "series": [
            {
                "type": "line",
                "name": completion_name,
                "data": [percent(p["completion_rate"]) for p in points],
                "showSymbol": False,
                "itemStyle": {"color": PRIMARY},
            },
            {
                "type": "line",
                "name": on_time_name,
                "data": [percent(p["on_time_rate"]) for p in points],
                "showSymbol": False,
                "itemStyle": {"color": OK},
            },
            {
                "type": "bar",
                "name": overdue_name,
                "yAxisIndex": 1,
                "data": [p["overdue"] for p in points],
                "itemStyle": {"color": DANGER, "opacity": 0.45},
            },
        ],
    }
    return _empty(option, bool(points))


def oversight(totals: dict[str, Any]) -> dict[str, Any]:
    """How the flags were followed up: urged (in time or not) and answered (in time or not)."""
    flags = totals.get("flags") or 0
    urged, urged_in_time = totals.get("urged") or 0, totals.get("urged_within_sla") or 0
    answered, answered_in_time = totals.get("answered") or 0, totals.get("answered_within_sla") or 0
    categories = [_("Urged"), _("Answered")]
    option = {
        "title": {"text": _("Follow-up of %(n)s flag(s)") % {"n": flags}, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 24, "left": 0},
        "grid": {**_grid(), "top": 64},
        "xAxis": {"type": "value", "minInterval": 1, "max": max(flags, 1)},
        "yAxis": {"type": "category", "data": categories, "inverse": True},
        "series": [
            {
                "type": "bar",
                "stack": "all",
                "name": _("Within the time limit"),
                "data": [urged_in_time, answered_in_time],
                "itemStyle": {"color": OK},
                "barMaxWidth": 26,
            },
            {
                "type": "bar",
                "stack": "all",
                "name": _("Late"),
                "data": [urged - urged_in_time, answered - answered_in_time],
                "itemStyle": {"color": WARN},
            },
            {
                "type": "bar",
                "stack": "all",
                "name": _("Not yet"),
                "data": [flags - urged, urged - answered],
                "itemStyle": {"color": "#cbd5e1"},
            },
        ],
    }
    return _empty(option, bool(flags))


def inspections(stats) -> dict[str, Any]:
    """A year of rounds: the places visited by kind and the cases by type, one bar each."""
    targets_name, cases_name = _("Places visited"), _("Cases")
    categories = [str(TARGET_KIND[k]) for k in stats.targets_by_kind] + [str(CASE_TYPE[t]) for t in stats.cases_by_type]
    targets = list(stats.targets_by_kind.values())
    cases = list(stats.cases_by_type.values())
    option = {
        "title": {
            "text": _("Places visited and cases, %(year)s") % {"year": stats.year},
            "textStyle": {"fontSize": 14},
        },
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 30, "left": 0, "data": [targets_name, cases_name]},
        "grid": {**_grid(), "top": 70},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {
            "type": "category",
            "data": categories,
            "inverse": True,
            "axisLabel": {"width": 130, "overflow": "truncate"},
        },
        "series": [
            {
                "type": "bar",
                "stack": "all",
                "name": targets_name,
                "data": targets + [0] * len(cases),
                "itemStyle": {"color": PRIMARY},
                "barMaxWidth": 20,
            },
            {
                "type": "bar",
                "stack": "all",
                "name": cases_name,
                "data": [0] * len(targets) + cases,
                "itemStyle": {"color": DANGER},
                "barMaxWidth": 20,
            },
        ],
    }
    return _empty(option, bool(stats.rounds or stats.cases))
