"""Demo data of SEED.md fact 5: the tutoring enforcement team's 2020, through the services.

13 rounds of announced (明查) and unannounced (暗访) inspections with 44 person-visits to the
neighbourhoods and tutoring centres that drew many reports (and a few schools), the cases they found
at every stage of the workflow, and one case published as a notice to every school.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.utils import timezone

from tracker.inspections.case_services import case_create, case_publish, case_update
from tracker.inspections.inspection_services import TargetInput, inspection_create
from tracker.inspections.models import Case, Inspection
from tracker.org.models import Unit, UnitKind

YEAR = 2020
NEIGHBOURHOODS = ["东港花园小区", "海印新村", "鲁家峙小区", "沈家门渔港小区", "兴港小区", "勾山新城"]
CENTRES = ["启航教育培训中心", "博雅学堂", "小状元课外辅导", "英才培训学校", "明德书院"]

# (month, day, kind, inspectors, [(target kind, name or school index)]): 13 rounds, 44 person-visits.
ROUNDS: list[tuple[int, int, str, int, list[tuple[str, Any]]]] = [
    (3, 18, "announced", 4, [("neighbourhood", 0), ("tutoring_centre", 0)]),
    (4, 9, "unannounced", 3, [("neighbourhood", 1), ("tutoring_centre", 1)]),
    (4, 25, "unannounced", 3, [("tutoring_centre", 2), ("tutoring_centre", 3)]),
    (5, 14, "announced", 4, [("school", 10), ("school", 11)]),
    (6, 6, "unannounced", 3, [("neighbourhood", 2), ("neighbourhood", 3)]),
    (6, 27, "unannounced", 3, [("tutoring_centre", 0), ("tutoring_centre", 4)]),
    (7, 11, "unannounced", 4, [("neighbourhood", 0), ("neighbourhood", 4), ("tutoring_centre", 2)]),
    (7, 25, "unannounced", 3, [("tutoring_centre", 1), ("tutoring_centre", 3)]),
    (8, 8, "unannounced", 3, [("neighbourhood", 5), ("tutoring_centre", 4)]),
    (8, 22, "announced", 4, [("tutoring_centre", 0), ("tutoring_centre", 2), ("other", "沈家门夜排档")]),
    (9, 12, "announced", 3, [("school", 0), ("school", 3)]),
    (10, 24, "unannounced", 3, [("neighbourhood", 1), ("tutoring_centre", 1)]),
    (12, 5, "announced", 4, [("school", 15), ("neighbourhood", 2)]),
]


def _at(day: date, hour: int = 20) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _targets(spec: list[tuple[str, Any]], schools: list[Unit]) -> list[TargetInput]:
    out = []
    for kind, ref in spec:
        if kind == "school":
            out.append(TargetInput(kind=kind, school=schools[ref]))
        elif kind == "neighbourhood":
            out.append(TargetInput(kind=kind, name=NEIGHBOURHOODS[ref]))
        elif kind == "tutoring_centre":
            out.append(TargetInput(kind=kind, name=CENTRES[ref]))
        else:
            out.append(TargetInput(kind=kind, name=ref))
    return out


def _advance(case: Case, inspector, steps: list[tuple[date, dict[str, Any]]]) -> Case:
    for day, changes in steps:
        case = case_update(actor=inspector, case=case, changes=changes, now=_at(day, 10))
    return case


def seed_inspections(*, authority: Unit, inspector, out=print) -> None:
    """The rounds, four cases (one per stage, one published) and the notice, as of 2020."""
    schools = list(Unit.objects.filter(parent=authority, kind=UnitKind.SCHOOL).order_by("code"))
    rounds: list[Inspection] = []
    for month, day, kind, inspectors, spec in ROUNDS:
        held_on = date(YEAR, month, day)
        rounds.append(
            inspection_create(
                actor=inspector,
                authority=authority,
                kind=kind,
                held_on=held_on,
                inspectors=inspectors,
                targets=_targets(spec, schools),
                summary="对群众举报较多的小区、校外培训机构开展" + ("明查。" if kind == "announced" else "暗访。"),
                now=_at(held_on),
            )
        )
    published = case_create(
        actor=inspector,
        authority=authority,
        inspection=rounds[6],
        school=schools[10],
        type="paid_tutoring",
        occurred_on=date(YEAR, 7, 11),
        summary="经暗访查实，王建国暑假期间在东港花园小区租用民房，组织本校学生有偿补课，收取补课费共计1.2万元。",
        persons=["王建国"],
        now=_at(date(YEAR, 7, 12), 9),
    )
    _advance(
        published,
        inspector,
        [
            (date(YEAR, 7, 15), {"status": "investigating"}),
            (
                date(YEAR, 8, 28),
                {
                    "status": "concluded",
                    "disposition": "给予王建国党内警告处分，责令退还全部补课费，取消当年评优评先资格。",
                },
            ),
        ],
    )
    case_publish(actor=inspector, case=published, now=_at(date(YEAR, 9, 1), 9))
    banquet = case_create(
        actor=inspector,
        authority=authority,
        school=schools[3],
        type="banquet",
        occurred_on=date(YEAR, 7, 20),
        summary="欧阳丽为其子操办“升学宴”，邀请学生家长参加并收受礼金。",
        persons=["欧阳丽"],
        now=_at(date(YEAR, 7, 22), 9),
    )
    _advance(
        banquet,
        inspector,
        [
            (date(YEAR, 7, 24), {"status": "investigating"}),
            (date(YEAR, 9, 18), {"status": "concluded", "disposition": "对欧阳丽进行诫勉谈话，责令退还礼金。"}),
        ],
    )
    second_job = case_create(
        actor=inspector,
        authority=authority,
        inspection=rounds[9],
        school=schools[15],
        type="second_job",
        occurred_on=date(YEAR, 8, 22),
        summary="李卫东在英才培训学校违规兼职授课。",
        persons=["李卫东"],
        now=_at(date(YEAR, 8, 23), 9),
    )
    _advance(second_job, inspector, [(date(YEAR, 8, 26), {"status": "investigating"})])
    case_create(
        actor=inspector,
        authority=authority,
        school=schools[0],
        type="private_gain",
        occurred_on=date(YEAR, 11, 30),
        summary="群众反映司马红向学生推销教辅资料并收取回扣，待核实。",
        persons=["司马红"],
        now=_at(date(YEAR, 12, 2), 9),
    )
    out(f"  inspections: {len(rounds)} rounds in {YEAR}, 4 cases, 1 published notice")
