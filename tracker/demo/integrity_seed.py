"""Demo data of the integrity programme (CONTRACT section 8, SEED facts 5-7), through the services:

- the province's two lists as its authority items (28 small and micro powers, 12 negative-list items);
- the seed's school: a register of 25 power items with 47 risk points, 20 of them high with a process
  map, approved; the other schools' registers at every stage (approved, submitted, returned, drafts,
  nothing yet);
- last term's self-inspection over both lists, finished: every school checked every item, findings
  became rectifications, most closed on time, some late, a few still open (the sweep chases them);
- this term's self-inspection of the negative list, under way.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import cycle as round_robin

from django.utils import timezone

from tracker.assessment.evidence_services import evidence_add
from tracker.assessment.models import Task
from tracker.assessment.task_services import task_approve, task_start, task_submit
from tracker.integrity.campaign_services import campaign_activate, campaign_create
from tracker.integrity.check_services import check_record
from tracker.integrity.list_services import list_item_create
from tracker.integrity.models import Campaign, Check, ListItem, ListKind, Post
from tracker.integrity.register_services import register_approve, register_return, register_submit, risk_create
from tracker.org.models import Unit

from .files import demo_pdf
from .integrity_catalogue import DEFAULT_PROCESS_MAP, FINDINGS, MICRO_POWERS, NEGATIVE, PROCESS_MAPS

SEED_SCHOOL_ITEMS = 25  # the seed's school: 25 power items, 47 risk points, 20 high-risk process maps
SEED_SCHOOL_HIGH = 20
D = timedelta(days=1)


def seed_integrity(
    *,
    province: Unit,
    bureau: Unit,
    supervisor,
    schools: list[tuple[Unit, object]],
    now: datetime,
    out: Callable[[str], None],
) -> None:
    rng = random.Random(2020)
    items = _publish_lists(province)
    year_start = datetime(timezone.localtime(now).year, 1, 1, 9, tzinfo=timezone.get_current_timezone())
    screening = max(year_start, now - 60 * D)  # the registers of this year were drawn up lately
    risks = _seed_school_register(items, *schools[0], at=screening)
    for index, (school, user) in enumerate(schools[1:], start=1):
        risks += _other_register(index, school, user, supervisor, items, at=screening, now=now, rng=rng)
    register_approve(
        actor=supervisor, school=schools[0][0], year=timezone.localtime(now).year, now=_between(screening, now, 0.8)
    )
    finished = _finished_campaign(bureau, supervisor, schools, now=now, rng=rng)
    current = _current_campaign(bureau, supervisor, schools, now=now, rng=rng)
    out(
        f"  integrity: {len(items)} list items, {risks} risk points; campaigns {finished.title!r} "
        f"({Task.objects.filter(campaign=finished).count()} rectifications) and {current.title!r}"
    )


def _between(start: datetime, end: datetime, fraction: float) -> datetime:
    return start + (end - start) * fraction


def _publish_lists(province: Unit) -> dict[str, ListItem]:
    published = [
        (ListKind.MICRO_POWER, "浙江省教育厅《学校小微权力清单》", [entry[:3] for entry in MICRO_POWERS]),
        (ListKind.NEGATIVE, "浙江省教育厅《学校办学行为负面清单》", NEGATIVE),
    ]
    return {
        code: list_item_create(
            actor=None, unit=province, list=kind, code=code, title=title, category=category, basis=basis
        )
        for kind, basis, entries in published
        for code, title, category in entries
    }


def _process_map(category: str) -> list[dict]:
    steps = PROCESS_MAPS.get(category, DEFAULT_PROCESS_MAP)
    return [{"step": step, "role": role, "control": control} for step, role, control in steps]


def _risk(school, user, item: ListItem, post: str, text: str, measures: list[str], level: str, at: datetime) -> None:
    risk_create(
        actor=user,
        school=school,
        item=item,
        post=post,
        description=text,
        level=level,
        measures=measures,
        process_map=_process_map(item.category) if level == "high" else [],
        now=at,
    )


def _seed_school_register(items: dict[str, ListItem], school: Unit, user, *, at: datetime) -> int:
    """25 items (22 with two risks, 3 with one): 47 risk points; the first risk of the first 20 is high."""
    doubles = [entry for entry in MICRO_POWERS if len(entry[3]) == 2][:22]
    singles = [entry for entry in MICRO_POWERS if len(entry[3]) == 1][: SEED_SCHOOL_ITEMS - 22]
    count = 0
    for n, (code, _title, _category, risks) in enumerate(doubles + singles):
        for k, (post, text, measures) in enumerate(risks):
            level = "high" if k == 0 and n < SEED_SCHOOL_HIGH else ("medium" if (n + k) % 3 else "low")
            _risk(school, user, items[code], post, text, measures, level, at + (count * 7) * timedelta(minutes=1))
            count += 1
    register_submit(actor=user, school=school, year=timezone.localtime(at).year, now=at + D)
    return count


def _other_register(index, school, user, supervisor, items, *, at, now, rng) -> int:
    """Every stage: approved, submitted, returned, drafts, and a few schools with nothing yet."""
    stage = ("approved", "approved", "submitted", "submitted", "returned", "draft", "draft", "none")[index % 8]
    if stage == "none":
        return 0
    year = timezone.localtime(at).year
    chosen = rng.sample(MICRO_POWERS, 8 if stage == "draft" else 12)
    posts = round_robin(Post.values)
    count = 0
    for n, (code, _title, _category, risks) in enumerate(chosen):
        post, text, measures = risks[n % len(risks)]
        level = "high" if n % 3 == 0 else ("medium" if n % 3 == 1 else "low")
        _risk(school, user, items[code], post if n % 2 else next(posts), text, measures, level, at + count * D / 24)
        count += 1
    if stage == "draft":
        return count
    register_submit(actor=user, school=school, year=year, now=_between(at, now, 0.5))
    if stage == "approved":
        register_approve(actor=supervisor, school=school, year=year, now=_between(at, now, 0.7))
    elif stage == "returned":
        register_return(
            actor=supervisor,
            school=school,
            year=year,
            reason="高风险点流程图控制节点不清，请补充完善。",
            now=_between(at, now, 0.7),
        )
    return count


def _finished_campaign(bureau, supervisor, schools, *, now, rng) -> Campaign:
    """Launched 130 days ago, due 90 days ago, every item checked; findings rectified mostly on time."""
    launched = now - 130 * D
    campaign = campaign_create(
        actor=supervisor,
        authority=bureau,
        title="“两张清单”逐项自查自纠（上学期）",
        lists=[ListKind.MICRO_POWER, ListKind.NEGATIVE],
        due_at=now - 90 * D,
        now=launched,
    )
    campaign_activate(actor=supervisor, campaign=campaign, now=launched)
    for index, (school, user) in enumerate(schools):
        late = index % 6 == 5  # a few schools finished their checklist after the deadline
        found = set(rng.sample(sorted(FINDINGS), rng.randint(0, 3)))
        checks = Check.objects.filter(campaign=campaign, school=school).select_related("item").order_by("item__code")
        for n, check in enumerate(checks):
            at = launched + (35 + (10 if late else 0)) * D * (n + 1) / max(len(checks), 1)
            if check.item.code in found:
                check = check_record(
                    actor=user,
                    check=check,
                    result="finding",
                    note="对照清单逐项自查",
                    finding={"description": FINDINGS[check.item.code], "rectify_by": at + 30 * D},
                    now=at,
                )
                _rectify(check.task, user, supervisor, fate=rng.random(), now=now)
            else:
                check_record(actor=user, check=check, result="ok", now=at)
    return campaign


def _rectify(task: Task, user, supervisor, *, fate: float, now: datetime) -> None:
    """Most rectifications closed on time, some late, a few still open (overdue: the sweep chases them)."""
    created = task.due_at - 30 * D
    if fate > 0.9:
        return
    task_start(task=task, actor=user, now=created + 2 * D)
    if fate > 0.8:
        return
    submitted = task.due_at - 5 * D if fate < 0.6 else task.due_at + 9 * D  # on time, or late
    data = demo_pdf(f"整改报告 {task.title}")
    evidence_add(
        task=task, actor=user, file=data, filename="整改报告.pdf", size=len(data.getvalue()), now=submitted - D
    )
    task_submit(task=task, actor=user, now=submitted)
    task_approve(task=task, actor=supervisor, deductions=[], comment="整改到位", now=min(submitted + 3 * D, now))


def _current_campaign(bureau, supervisor, schools, *, now, rng) -> Campaign:
    """This term's check of the negative list: due in 20 days, about half the checks recorded."""
    launched = now - 10 * D
    campaign = campaign_create(
        actor=supervisor,
        authority=bureau,
        title="办学负面清单专项自查（本学期）",
        lists=[ListKind.NEGATIVE],
        due_at=now + 20 * D,
        now=launched,
    )
    campaign_activate(actor=supervisor, campaign=campaign, now=launched)
    for index, (school, user) in enumerate(schools):
        checks = list(Check.objects.filter(campaign=campaign, school=school).order_by("id"))
        done = len(checks) if index < 4 else int(len(checks) * rng.random() * 0.8)
        for n, check in enumerate(checks[:done]):
            check_record(actor=user, check=check, result="ok", now=launched + (n + 1) * 8 * D / len(checks))
    return campaign
