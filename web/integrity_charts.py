"""The integrity pages' charts as ECharts options (drawn by web/static/web/charts.js like every chart):
a high-risk point's process map as a flowchart (a graph series: one box per step, control steps
marked, arrows in order), a register's risk points by post and level, a campaign's checklist progress
per school (or child unit) and its rectifications by state."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .charts import DANGER, MAX_BARS, OK, PRIMARY, WARN, _empty, _grid
from .labels import LEVEL, POST

STEP_GAP = 92  # vertical distance between two steps of a process map, in the chart's own units
LEVEL_COLORS = {"low": "#94a3b8", "medium": WARN, "high": DANGER}


def process_map_height(steps: int) -> int:
    """The chart's height in pixels for a map of `steps` steps (each box and its arrow)."""
    return max(2, steps) * 78 + 40


def process_map(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """A flowchart top to bottom: each step a box ("step / role"), control steps in red with a mark."""
    control = _("Control step")
    nodes = [
        {
            "name": f"{index}",
            "x": 0,
            "y": index * STEP_GAP,
            "value": step.get("role", ""),
            "label": {"formatter": f"{step.get('step', '')}\n{step.get('role', '')}"},
            "symbol": "roundRect",
            "symbolSize": [190, 52],
            "itemStyle": {
                "color": "#fee2e2" if step.get("control") else "#e0ecfb",
                "borderColor": DANGER if step.get("control") else PRIMARY,
                "borderWidth": 2 if step.get("control") else 1,
            },
            "tooltip": {
                "formatter": f"{step.get('step', '')} · {step.get('role', '')}"
                + (f" · {control}" if step.get("control") else "")
            },
        }
        for index, step in enumerate(steps)
    ]
    edges = [{"source": f"{i}", "target": f"{i + 1}"} for i in range(len(steps) - 1)]
    option = {
        "tooltip": {},
        "series": [
            {
                "type": "graph",
                "layout": "none",
                "roam": False,
                "top": 30,
                "bottom": 30,
                "label": {"show": True, "color": "#0f172a", "fontSize": 12, "lineHeight": 16},
                "edgeSymbol": ["none", "arrow"],
                "edgeSymbolSize": 9,
                "lineStyle": {"color": "#64748b", "width": 1.5},
                "data": nodes,
                "links": edges,
            }
        ],
    }
    return _empty(option, bool(steps))


def risk_levels(summary: dict[str, Any], counts_by_post: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Risk points per post, stacked by level."""
    posts = list(POST)
    option = {
        "title": {"text": _("Risk points by post and level"), "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 24, "left": 0},
        "grid": {**_grid(), "top": 64},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [str(POST[p]) for p in posts], "inverse": True},
        "series": [
            {
                "type": "bar",
                "stack": "all",
                "name": str(LEVEL[level]),
                "data": [counts_by_post.get(post, {}).get(level, 0) for post in posts],
                "itemStyle": {"color": LEVEL_COLORS[level]},
                "barMaxWidth": 22,
            }
            for level in ("high", "medium", "low")
        ],
    }
    return _empty(option, bool(summary.get("risk_points")))


def checklist_progress(rows: list[dict[str, Any]], *, key: str) -> dict[str, Any]:
    """Checks done and still open per school (or child unit), the least advanced first; the two ends
    when there are many."""

    def done_share(row: dict[str, Any]) -> float:
        return row["checks_done"] / row["checks_total"] if row["checks_total"] else 1.0

    ranked = sorted(rows, key=lambda row: (done_share(row), row[key]["name"]))
    title = _("Self-inspection progress")
    if len(ranked) > MAX_BARS:
        half = MAX_BARS // 2
        ranked = ranked[:half] + ranked[-half:]
        title = _("Self-inspection progress: the %(n)s least and the %(n)s most advanced of %(total)s") % {
            "n": half,
            "total": len(rows),
        }
    names = [row[key]["name"] for row in ranked]
    option = {
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 24, "left": 0},
        "grid": {**_grid(), "top": 64},
        "xAxis": {
            "type": "category",
            "data": names,
            "axisLabel": {"interval": 0, "rotate": 40 if len(names) > 4 else 0, "width": 110, "overflow": "truncate"},
        },
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "stack": "checks",
                "name": _("Checked"),
                "data": [row["checks_done"] for row in ranked],
                "itemStyle": {"color": OK},
                "barMaxWidth": 28,
            },
            {
                "type": "bar",
                "stack": "checks",
                "name": _("Not checked yet"),
                "data": [row["checks_total"] - row["checks_done"] for row in ranked],
                "itemStyle": {"color": "#cbd5e1"},
            },
            {
                "type": "bar",
                "name": _("Findings"),
                "data": [row["findings"] for row in ranked],
                "itemStyle": {"color": WARN},
                "barMaxWidth": 14,
            },
        ],
    }
    return _empty(option, any(row["checks_total"] for row in rows))


def rectifications(totals: dict[str, Any]) -> dict[str, Any]:
    """The campaign's rectifications by state: open (of them overdue), closed on time, closed late."""
    open_, overdue = totals.get("rectifications_open") or 0, totals.get("rectifications_overdue") or 0
    closed, on_time = totals.get("rectifications_closed") or 0, totals.get("rectifications_closed_on_time") or 0
    states = [
        (_("Open, in time"), open_ - overdue, PRIMARY),
        (_("Open, overdue"), overdue, DANGER),
        (_("Closed on time"), on_time, OK),
        (_("Closed late"), closed - on_time, WARN),
    ]
    option = {
        "title": {"text": _("Rectifications"), "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "grid": _grid(),
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [str(name) for name, _n, _c in states], "inverse": True},
        "series": [
            {
                "type": "bar",
                "name": _("Rectifications"),
                "data": [{"value": n, "itemStyle": {"color": color}} for _name, n, color in states],
                "barMaxWidth": 22,
                "label": {"show": True, "position": "right"},
            }
        ],
    }
    return _empty(option, bool(open_ + closed))
