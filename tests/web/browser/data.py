"""A small district with a history, for the browser tests: Chinese names, some schools ahead and some
behind, a task waiting for review, flags, urges (answered and not) and daily snapshots.

Built through the services at the times things happened (imported history: no side effects), then one
sweep as of now, as the demo does.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from tests.factories import UserFactory
from tests.samples import pdf_bytes
from tracker import models as m
from tracker.assessment.appeal_services import appeal_create
from tracker.assessment.cycle_services import criterion_create, cycle_activate, cycle_create
from tracker.assessment.evidence_services import evidence_add
from tracker.assessment.extension_services import extension_request_create
from tracker.assessment.task_services import task_approve, task_progress, task_start, task_submit
from tracker.audit.events import events_imported
from tracker.inspections.case_services import case_create, case_publish, case_update
from tracker.inspections.inspection_services import TargetInput, inspection_create
from tracker.monitoring.services import urge_create, urge_respond
from tracker.monitoring.sweep import sweep_run
from tracker.org.services import account_create
from tracker.reporting.snapshots import snapshots_take

PASSWORD = "pw-Secret-123"
SCHOOLS = ["沈家门第一小学", "沈家门第二小学", "东港中心小学", "勾山中学", "六横中学", "桃花中学"]
CRITERIA = [
    ("01", "党组织研究部署党风廉政建设", "每学期至少召开一次专题会议，研究部署党风廉政建设工作，留存会议纪要。", -60),
    ("02", "签订党风廉政建设责任书", "校长与班子成员、班子成员与中层干部逐级签订责任书。", -30),
    ("03", "廉政谈心谈话", "每学年对班子成员、中层干部开展廉政谈心谈话，形成记录。", -5),
    ("04", "清廉文化进校园活动", "开展清廉文化主题活动不少于两次，提交活动方案与照片。", 20),
    ("05", "述责述廉", "班子成员年度述责述廉并接受民主评议。", 60),
]


@dataclass
class Demo:
    bureau: m.Unit
    schools: list[m.Unit]
    supervisor: object
    inspector: object
    school_users: list = field(default_factory=list)
    cycle: m.Cycle | None = None
    submitted: m.Task | None = None  # waiting for review (school 0, criterion 03)
    fresh: m.Task | None = None  # not started, due in the future (school 0, criterion 04)
    case: m.Case | None = None  # reported, being worked on (school 4)
    published: m.Case | None = None  # concluded and published as a notice (school 5)
    asked: m.ExtensionRequest | None = None  # school 3 asks for two more weeks (criterion 04)
    appeal: m.Appeal | None = None  # school 2 contests a deduction of its latest approval


def _pdf(title: str) -> io.BytesIO:
    return io.BytesIO(pdf_bytes(title))


def build() -> Demo:
    now = timezone.now()
    start = now - timedelta(days=90)
    admin = UserFactory(is_superuser=True)
    with events_imported():
        bureau = m.Unit.objects.create(name="普陀区教育局", code="B-PT", kind=m.UnitKind.AUTHORITY)
        supervisor = account_create(
            actor=admin, username="bureau", password=PASSWORD, unit=bureau, role=m.Role.SUPERVISOR
        ).user
        inspector = account_create(
            actor=admin, username="jjz", password=PASSWORD, unit=bureau, role=m.Role.INSPECTOR
        ).user
        demo = Demo(bureau=bureau, schools=[], supervisor=supervisor, inspector=inspector)
        for n, name in enumerate(SCHOOLS, start=1):
            school = m.Unit.objects.create(name=name, code=f"B-PT-{n}", kind=m.UnitKind.SCHOOL, parent=bureau)
            demo.schools.append(school)
            demo.school_users.append(
                account_create(
                    actor=supervisor, username=f"school{n}", password=PASSWORD, unit=school, role=m.Role.SCHOOL
                ).user
            )
        cycle = cycle_create(
            actor=supervisor,
            authority=bureau,
            name=f"{now.year}年度清廉学校建设主体责任考评",
            starts_on=start.date(),
            ends_on=(start + timedelta(days=365)).date(),
        )
        for code, title, requirement, days in CRITERIA:
            criterion_create(
                actor=supervisor,
                cycle=cycle,
                code=code,
                title=title,
                category="组织领导",
                requirement=requirement,
                due_at=now + timedelta(days=days),
                max_score=Decimal("10"),
                min_evidence=1,
                deduction_rules=[
                    {"code": "D1", "description": "材料不完整", "points": "2"},
                    {"code": "D2", "description": "未按时召开", "points": "3"},
                ],
                late_penalty_per_day=Decimal("0.5"),
                late_penalty_cap=Decimal("5"),
            )
        cycle_activate(actor=supervisor, cycle=cycle, now=start)
        demo.cycle = cycle
        for index, (school, user) in enumerate(zip(demo.schools, demo.school_users, strict=True)):
            for task in m.Task.objects.filter(school=school).select_related("criterion").order_by("due_at"):
                _history(task, user, supervisor, diligence=1 - index / 5, now=now)
        for days_ago in range(20, -1, -1):
            snapshots_take(now=now - timedelta(days=days_ago))
    sweep_run(now=now - timedelta(days=3))  # flags open three days ago
    with events_imported():
        lagging = demo.schools[-2:]
        answered = urge_create(
            actor=supervisor,
            cycle=cycle,
            school=lagging[0],
            message="你校多项任务逾期，请于三日内提交整改说明。",
            respond_by=now - timedelta(hours=12),
            now=now - timedelta(days=3, hours=-3),  # urged 3 hours after the flag: in time
        )
        urge_respond(
            actor=demo.school_users[-2],
            urge=answered,
            response="已召开专题会议，材料本周补齐。",
            now=now - timedelta(days=1),
        )
        urge_create(
            actor=supervisor,
            cycle=cycle,
            school=lagging[1],
            message="请说明逾期原因并限期整改。",
            respond_by=now + timedelta(days=2),
            now=now - timedelta(hours=6),  # urged 66 hours after the flag: late
        )
    sweep_run(now=now)
    _requests(demo, now=now)
    _inspections(demo)
    demo.submitted = m.Task.objects.get(school=demo.schools[0], criterion__code="03")
    demo.fresh = m.Task.objects.get(school=demo.schools[0], criterion__code="04")
    return demo


def _history(task: m.Task, user, supervisor, *, diligence: float, now) -> None:
    """School 0 is ahead (everything due is approved, 03 waits for review), the last ones far behind."""
    due = task.due_at
    code = task.criterion.code
    if due > now + timedelta(days=10) or diligence < 0.3:
        return
    opened = min(due, now) - timedelta(days=25)
    task_start(task=task, actor=user, now=opened)
    task_progress(task=task, actor=user, progress=50, note="资料整理中", now=opened + timedelta(days=2))
    if diligence < 0.5 and due < now:
        return  # started, then left overdue
    file = _pdf(task.criterion.title)
    evidence_add(
        task=task,
        actor=user,
        file=file,
        filename=f"{task.criterion.title}.pdf",
        size=len(file.getvalue()),
        now=opened + timedelta(days=3),
    )
    submitted = min(due - timedelta(days=1), now - timedelta(days=1))
    task_submit(task=task, actor=user, now=submitted)
    if code == "03" and diligence == 1:
        return  # waits for the bureau's review
    if due > now:
        return
    task_approve(
        task=task,
        actor=supervisor,
        deductions=[] if diligence > 0.7 else ["D1"],
        comment="审核通过",
        now=submitted + timedelta(hours=20),
    )


def _requests(demo: Demo, *, now) -> None:
    """Waiting in the supervisors' queue: one extension request and one appeal (CONTRACT section 7)."""
    with events_imported():
        fourth = m.Task.objects.get(school=demo.schools[3], criterion__code="04")
        demo.asked = extension_request_create(
            task=fourth,
            actor=demo.school_users[3],
            requested_due_at=fourth.due_at + timedelta(days=14),
            reason="校舍维修，相关活动需推迟两周。",
            now=now - timedelta(hours=5),
        )
        docked = (
            m.Task.objects.filter(school=demo.schools[2], status=m.TaskStatus.APPROVED)
            .exclude(deductions=[])
            .order_by("-reviewed_at")
            .first()
        )
        demo.appeal = appeal_create(
            task=docked,
            actor=demo.school_users[2],
            reason="会议纪要已于提交当日补传，请复核。",
            contested=["D1"],
            now=docked.reviewed_at + timedelta(hours=2),
        )


def _inspections(demo: Demo) -> None:
    """Two rounds of 2020 (like the demo's), a case being investigated and a published one."""
    inspector, bureau = demo.inspector, demo.bureau
    first = inspection_create(
        actor=inspector,
        authority=bureau,
        kind="unannounced",
        held_on=date(2020, 7, 15),
        inspectors=4,
        targets=[
            TargetInput(kind="neighbourhood", name="东港花园小区"),
            TargetInput(kind="tutoring_centre", name="启航教育培训中心"),
            TargetInput(kind="school", school=demo.schools[4]),
        ],
        summary="暑期暗访有偿补课。",
    )
    inspection_create(
        actor=demo.supervisor,
        authority=bureau,
        kind="announced",
        held_on=date(2020, 9, 10),
        inspectors=3,
        targets=[TargetInput(kind="school", school=demo.schools[5])],
        summary="开学检查。",
    )
    demo.case = case_create(
        actor=inspector,
        authority=bureau,
        inspection=first,
        school=demo.schools[4],
        type="paid_tutoring",
        occurred_on=date(2020, 7, 15),
        summary="李明在东港花园小区租房有偿补课。",
        persons=["李明"],
    )
    published = case_create(
        actor=inspector,
        authority=bureau,
        school=demo.schools[5],
        type="banquet",
        occurred_on=date(2020, 8, 20),
        summary="张三为其子操办升学宴，欧阳明收受礼金。",
        persons=["张三", "欧阳明"],
        disposition="给予张三党内警告处分，欧阳明诫勉谈话并退还礼金。",
    )
    case_update(actor=inspector, case=published, changes={"status": "investigating"})
    case_update(actor=inspector, case=published, changes={"status": "concluded"})
    case_publish(actor=inspector, case=published)
    demo.published = published
