"""The daily digest: one e-mail per supervisor or inspector and unit with the state of their scope.

Once per member and unit per local day, however often the job runs, and never lost to a crash: the
DailyDigest outbox (claim, send, mark sent once accepted; see daily_digest_send).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tracker.assessment.models import Task
from tracker.assessment.rules import overdue_q
from tracker.monitoring.models import Flag, FlagSeverity, Urge
from tracker.monitoring.rules import live_q, urge_overdue_q
from tracker.notify.mail import header_text, mail_send
from tracker.notify.models import Notification
from tracker.notify.texts import language_of
from tracker.org.models import AUTHORITY_ROLES, Membership
from tracker.org.tree import school_ids_under

from .models import DailyDigest


def _scope_summary(authority_id: int, now: datetime) -> dict[str, int]:
    schools = sorted(school_ids_under([authority_id]))
    flags = Flag.objects.filter(live_q(), school_id__in=schools, resolved_at__isnull=True).aggregate(
        critical=Count("id", filter=Q(severity=FlagSeverity.CRITICAL)),
        warning=Count("id", filter=Q(severity=FlagSeverity.WARNING)),
    )
    overdue = Task.objects.filter(overdue_q(now), live_q(), school_id__in=schools).count()
    urges = Urge.objects.filter(urge_overdue_q(now), live_q(), school_id__in=schools).count()
    return {**flags, "overdue": overdue, "urges": urges}


_FILL = """
INSERT INTO tracker_dailydigest (user_id, unit_id, day, attempts) VALUES {values}
ON CONFLICT DO NOTHING
"""

# Rows of the day not sent and not claimed by a live run: claimed (committed) before anything is sent.
_CLAIM = """
UPDATE tracker_dailydigest SET claimed_until = %s, attempts = attempts + 1
WHERE day = %s AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until <= %s)
RETURNING id, unit_id, user_id
"""


def _lease() -> timedelta:
    """How long a claim holds: longer than a run takes to send, short enough to retry within the day."""
    return timedelta(seconds=int(settings.TRACKER["DIGEST_CLAIM_SECONDS"]))


def _outbox_claim(pairs: list[tuple[int, int]], *, day: date, now: datetime) -> dict[tuple[int, int], int]:
    """Put today's digest of each (unit, user) in the outbox (once: the unique key), then claim the
    unsent ones no live run holds; returns (unit, user) -> outbox row of the claimed ones. Two beats,
    a retried or redelivered task: whichever claims first sends, the others find nothing to claim."""
    ops = connection.ops
    claimed: dict[tuple[int, int], int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for i in range(0, len(pairs), 500):
            chunk = pairs[i : i + 500]
            params: list[Any] = []
            for unit_id, user_id in chunk:
                params += [user_id, unit_id, ops.adapt_datefield_value(day), 0]
            cursor.execute(_FILL.format(values=", ".join(["(%s, %s, %s, %s)"] * len(chunk))), params)
        at = ops.adapt_datetimefield_value(now)
        cursor.execute(_CLAIM, [ops.adapt_datetimefield_value(now + _lease()), ops.adapt_datefield_value(day), at])
        for row_id, unit_id, user_id in cursor.fetchall():
            claimed[(unit_id, user_id)] = row_id
    return claimed


def _message(member: Membership, summary: dict[str, int], unread: int) -> EmailMessage:
    with translation.override(language_of(member.language)):
        subject = _("Qinglian daily digest: %(unit)s") % {"unit": header_text(member.unit.name)}
        body = "\n".join(
            [
                _("Open flags: %(critical)s critical, %(warning)s warning") % summary,
                _("Overdue tasks: %(overdue)s") % summary,
                _("Urges awaiting an answer past their deadline: %(urges)s") % summary,
                _("Unread notifications: %(count)s") % {"count": unread},
            ]
        )
    return EmailMessage(subject=subject, body=body + "\n", to=[member.user.email])


def daily_digest_send(*, now: datetime) -> int:
    """One e-mail per supervisor or inspector and unit: open flags, overdue tasks and late urge answers in
    scope; returns how many the mail back-end accepted.

    Through the outbox (DailyDigest): claimed, then sent one by one, each marked sent only once accepted.
    A message that fails has its claim given back (the next run retries it alone); a run that dies
    between claim and send loses nothing: its claims lapse after DIGEST_CLAIM_SECONDS. Once per member
    and unit per local day, whichever run or beat fires it.
    """
    day = timezone.localdate(now)
    members = {
        (m.unit_id, m.user_id): m
        for m in Membership.objects.filter(role__in=AUTHORITY_ROLES, user__is_active=True)
        .exclude(user__email="")
        .select_related("user", "unit")
        .order_by("unit_id", "user_id")
    }
    claimed = _outbox_claim(list(members), day=day, now=now)
    gone = [row for pair, row in claimed.items() if pair not in members]  # left since: nothing to send
    DailyDigest.objects.filter(pk__in=gone).delete()
    todo = [(members[pair], row) for pair, row in sorted(claimed.items()) if pair in members]
    unread = dict(
        Notification.objects.filter(read_at__isnull=True, recipient__in=[m.user_id for m, _row in todo])
        .values_list("recipient_id")
        .annotate(n=Count("id"))
    )
    summaries: dict[int, dict[str, int]] = {}
    mail = get_connection()
    sent = 0
    for member, row in todo:
        if member.unit_id not in summaries:
            summaries[member.unit_id] = _scope_summary(member.unit_id, now)
        message = _message(member, summaries[member.unit_id], unread.get(member.user_id, 0))
        if mail_send(message, connection=mail):
            DailyDigest.objects.filter(pk=row).update(sent_at=now, claimed_until=None)
            sent += 1
        else:
            DailyDigest.objects.filter(pk=row, sent_at__isnull=True).update(claimed_until=None)
    return sent
