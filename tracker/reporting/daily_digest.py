"""The daily digest: one e-mail per supervisor or inspector and unit with the state of their scope.

Once per member and unit per local day, however often the job runs (DailyDigest's unique key).
"""

from __future__ import annotations

import smtplib
from datetime import date, datetime
from typing import Any

from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tracker.assessment.models import CycleStatus, Task
from tracker.assessment.rules import overdue_q
from tracker.monitoring.models import Flag, FlagSeverity, Urge
from tracker.monitoring.rules import urge_overdue_q
from tracker.notify.models import Notification
from tracker.notify.texts import language_of
from tracker.org.models import AUTHORITY_ROLES, Membership
from tracker.org.tree import school_ids_under

from .models import DailyDigest


def _scope_summary(authority_id: int, now: datetime) -> dict[str, int]:
    schools = sorted(school_ids_under([authority_id]))
    flags = Flag.objects.filter(
        school_id__in=schools, resolved_at__isnull=True, cycle__status=CycleStatus.ACTIVE
    ).aggregate(
        critical=Count("id", filter=Q(severity=FlagSeverity.CRITICAL)),
        warning=Count("id", filter=Q(severity=FlagSeverity.WARNING)),
    )
    overdue = Task.objects.filter(overdue_q(now), school_id__in=schools, cycle__status=CycleStatus.ACTIVE).count()
    urges = Urge.objects.filter(urge_overdue_q(now), school_id__in=schools, cycle__status=CycleStatus.ACTIVE).count()
    return {**flags, "overdue": overdue, "urges": urges}


_CLAIM_DAILY = """
INSERT INTO tracker_dailydigest (user_id, unit_id, day, sent_at) VALUES {values}
ON CONFLICT DO NOTHING
RETURNING unit_id, user_id
"""


def _daily_claim(pairs: list[tuple[int, int]], *, day: date, now: datetime) -> set[tuple[int, int]]:
    """Claim today's digest of each (unit, user); returns the pairs this call may mail. Two beats, a
    retried or redelivered task: whichever claims first mails, the others find nothing to do."""
    claimed: set[tuple[int, int]] = set()
    ops = connection.ops
    with transaction.atomic(), connection.cursor() as cursor:
        for i in range(0, len(pairs), 500):
            chunk = pairs[i : i + 500]
            params: list[Any] = []
            for unit_id, user_id in chunk:
                params += [user_id, unit_id, ops.adapt_datefield_value(day), ops.adapt_datetimefield_value(now)]
            cursor.execute(_CLAIM_DAILY.format(values=", ".join(["(%s, %s, %s, %s)"] * len(chunk))), params)
            claimed.update((unit_id, user_id) for unit_id, user_id in cursor.fetchall())
    return claimed


def daily_digest_send(*, now: datetime) -> int:
    """One e-mail per supervisor or inspector: open flags, overdue tasks and late urge answers in scope."""
    day = timezone.localdate(now)
    members = list(
        Membership.objects.filter(role__in=AUTHORITY_ROLES, user__is_active=True)
        .exclude(user__email="")
        .select_related("user", "unit")
        .order_by("unit_id", "user_id")
    )
    claimed = _daily_claim(list(dict.fromkeys((m.unit_id, m.user_id) for m in members)), day=day, now=now)
    members = [m for m in members if (m.unit_id, m.user_id) in claimed]
    unread = dict(
        Notification.objects.filter(read_at__isnull=True, recipient__in=[m.user_id for m in members])
        .values_list("recipient_id")
        .annotate(n=Count("id"))
    )
    summaries: dict[int, dict[str, int]] = {}
    messages = []
    seen: set[tuple[int, int]] = set()
    for m in members:
        if (m.unit_id, m.user_id) in seen:
            continue
        seen.add((m.unit_id, m.user_id))
        if m.unit_id not in summaries:
            summaries[m.unit_id] = _scope_summary(m.unit_id, now)
        s = summaries[m.unit_id]
        with translation.override(language_of(m.language)):
            subject = _("Qinglian daily digest: %(unit)s") % {"unit": m.unit.name}
            body = "\n".join(
                [
                    _("Open flags: %(critical)s critical, %(warning)s warning") % s,
                    _("Overdue tasks: %(overdue)s") % s,
                    _("Urges awaiting an answer past their deadline: %(urges)s") % s,
                    _("Unread notifications: %(count)s") % {"count": unread.get(m.user_id, 0)},
                ]
            )
        messages.append(EmailMessage(subject=subject, body=body + "\n", to=[m.user.email]))
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except (smtplib.SMTPException, OSError):
        # Nothing of this run went out for sure: give its claims back to the next run.
        DailyDigest.objects.filter(day=day, sent_at=now).delete()
        raise
