"""The integrity programme's test world, on top of the district fixture: the bureau's two lists, the
other district's list, School A's own item, and helpers for risk points, campaigns and findings.

Conftests import the `integrity` fixture from here (tests/tracker/integrity, tests/api)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import District
from tracker import models as m
from tracker.integrity.campaign_services import campaign_activate, campaign_create

# 09:00 on 2 March 2026 in Shanghai.
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
D = timedelta(days=1)
CAMPAIGN_DUE = NOW + 30 * D
PROCESS_MAP = [
    {"step": "申请", "role": "经办教师", "control": False},
    {"step": "集体审议", "role": "校务会", "control": True},
    {"step": "公示", "role": "办公室", "control": False},
]


@dataclass
class Integrity:
    d: District
    m1: m.ListItem  # the bureau's small-and-micro-power items
    m2: m.ListItem
    n1: m.ListItem  # the bureau's negative-list item
    other_item: m.ListItem  # the other district's
    own_a: m.ListItem  # School A's own micro-power item

    def campaign(self, *, lists=("micro_power", "negative"), due_at: datetime = CAMPAIGN_DUE, activate=True):
        campaign = campaign_create(
            actor=self.d.supervisor,
            authority=self.d.bureau,
            title="2026 自查自纠",
            lists=list(lists),
            due_at=due_at,
            now=NOW,
        )
        if activate:
            campaign_activate(actor=self.d.supervisor, campaign=campaign, now=NOW)
            campaign.refresh_from_db()
        return campaign


def item(unit: m.Unit, code: str, title: str, list_: str = "micro_power") -> m.ListItem:
    return m.ListItem.objects.create(unit=unit, list=list_, code=code, title=title, category="人事")


def risk_body(item_: m.ListItem, **changes: Any) -> dict[str, Any]:
    body = {
        "item": item_.pk,
        "post": "leader",
        "description": "招生录取中优亲厚友",
        "level": "high",
        "measures": ["集体决策", "结果公示"],
        "process_map": PROCESS_MAP,
    }
    body.update(changes)
    return body


@pytest.fixture
def integrity(district: District) -> Integrity:
    return Integrity(
        d=district,
        m1=item(district.bureau, "M01", "招生录取"),
        m2=item(district.bureau, "M02", "物资采购"),
        n1=item(district.bureau, "N01", "违规收费", "negative"),
        other_item=item(district.other_bureau, "OM1", "外区事项"),
        own_a=item(district.school_a, "A01", "校本课程选用"),
    )
