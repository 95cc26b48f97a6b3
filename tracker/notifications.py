"""Texts of notifications in the recipient's language, and the e-mail digests.

In-app notifications are always written (by the sweep, or by event handlers). E-mail goes out as one
digest per recipient per sweep: the digest claims every notification of the recipient not mailed
yet (an UPDATE ... WHERE emailed_at IS NULL, so concurrent sweeps never mail one twice) and sends one
message through Django's e-mail back-end, in the recipient's language (Membership.language, else
LANGUAGE_CODE). The daily digest gives supervisors and inspectors the state of their scope.
"""

from __future__ import annotations

import functools
import logging
import smtplib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .models import (
    CycleStatus,
    DailyDigest,
    Flag,
    FlagSeverity,
    Membership,
    Notification,
    NotificationKind,
    Role,
    Task,
    Unit,
    UnitKind,
    Urge,
)
from .scope import descendant_ids
from .selectors import overdue_q

logger = logging.getLogger(__name__)
K = NotificationKind

SUPPORTED = {code for code, _name in settings.LANGUAGES}

KIND_LABELS = {
    K.DUE_SOON: gettext_noop("due soon"),
    K.OVERDUE: gettext_noop("overdue"),
    K.ESCALATION: gettext_noop("escalation"),
    K.FLAG_OPENED: gettext_noop("flag opened"),
    K.FLAG_CRITICAL: gettext_noop("flag critical"),
    K.URGE: gettext_noop("urge"),
    K.URGE_OVERDUE: gettext_noop("urge answer overdue"),
    K.RETURNED: gettext_noop("returned"),
    K.APPROVED: gettext_noop("approved"),
    K.NOTICE_PUBLISHED: gettext_noop("notice published"),
}


def language_of(code: str | None) -> str:
    """A language we have texts for: the recipient's where known, else the site's."""
    code = (code or "").lower()
    if code in SUPPORTED:
        return code
    if code.split("-")[0] == "zh":
        return "zh-hans"
    if code.split("-")[0] == "en":
        return "en"
    return settings.LANGUAGE_CODE


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# (title, body) of each kind, with %(name)s placeholders filled from the notification's context.
TEMPLATES: dict[str, tuple[str, str]] = {
    K.DUE_SOON: (gettext_noop("%(code)s %(criterion)s: due within %(days)s day(s), by %(due_at)s"), ""),
    K.OVERDUE: (gettext_noop("%(code)s %(criterion)s: %(days)s day(s) overdue (due %(due_at)s)"), ""),
    K.ESCALATION: (
        gettext_noop("%(school)s: %(code)s %(criterion)s is %(days)s day(s) overdue"),
        gettext_noop("Please follow up with the school."),
    ),
    K.FLAG_OPENED: (gettext_noop("%(school)s has fallen behind: %(count)s overdue task(s)"), ""),
    K.FLAG_CRITICAL: (
        gettext_noop("%(school)s is critically behind: %(count)s overdue task(s), the oldest %(days)s day(s) overdue"),
        "",
    ),
    K.URGE: (gettext_noop("Urge from %(authority)s: please answer by %(respond_by)s"), "%(message)s"),
    K.URGE_OVERDUE: (
        gettext_noop("Your answer to the urge of %(created_at)s is overdue (due %(respond_by)s)"),
        "%(message)s",
    ),
}


@functools.lru_cache(maxsize=256)
def translated(msgid: str, language: str) -> str:
    """One translation lookup per text and language, not per notification (a sweep renders 10^5)."""
    if not msgid:
        return ""
    with translation.override(language):
        return _(msgid)


def render(kind: str, ctx: dict[str, Any], language: str | None) -> tuple[str, str]:
    """(title, body) of a notification in the given language."""
    if kind not in TEMPLATES:
        return kind, ""
    language = language_of(language)
    c = dict(ctx)
    for key in ("due_at", "respond_by", "created_at"):
        if key in c:
            c[key] = _when(c[key])
    title, body = TEMPLATES[kind]
    return translated(title, language) % c, translated(body, language) % c


# --- Digests per sweep ----------------------------------------------------------------------------
@dataclass
class Digest:
    recipient_id: int
    total: int = 0
    kinds: Counter = field(default_factory=Counter)
    items: list[tuple[str, str]] = field(default_factory=list)  # (kind, title), newest first


# PostgreSQL: claim and summarise in one statement, so a recipient with 10^5 notifications costs
# the digest's N lines of memory, not 10^5 rows.
_CLAIM_PG = """
WITH claimed AS (
    UPDATE tracker_notification SET emailed_at = %(now)s
    WHERE emailed_at IS NULL AND recipient_id >= %(lo)s AND recipient_id <= %(hi)s
    RETURNING id, recipient_id, kind, title, created_at
), ranked AS (
    SELECT recipient_id, kind, title,
           row_number() OVER (PARTITION BY recipient_id ORDER BY created_at DESC, id DESC) AS rn
    FROM claimed
)
SELECT recipient_id, kind, title, rn, 0 FROM ranked WHERE rn <= %(top)s
UNION ALL
SELECT recipient_id, kind, NULL, 0, count(*) FROM claimed GROUP BY recipient_id, kind
"""

_CLAIM_SQLITE = """
UPDATE tracker_notification SET emailed_at = %(now)s
WHERE emailed_at IS NULL AND recipient_id >= %(lo)s AND recipient_id <= %(hi)s
RETURNING id, recipient_id, kind, title, created_at
"""


def _claim(lo: int, hi: int, now: datetime, top: int) -> dict[int, Digest]:
    digests: dict[int, Digest] = {}

    def digest(recipient_id: int) -> Digest:
        return digests.setdefault(recipient_id, Digest(recipient_id))

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_CLAIM_PG, {"now": now, "lo": lo, "hi": hi, "top": top})
            ranked = []
            for recipient_id, kind, title, rn, count in cursor.fetchall():
                if rn == 0:
                    digest(recipient_id).kinds[kind] += count
                    digest(recipient_id).total += count
                else:
                    ranked.append((recipient_id, rn, kind, title))
            for recipient_id, _rn, kind, title in sorted(ranked):
                digest(recipient_id).items.append((kind, title))
            return digests
        cursor.execute(_CLAIM_SQLITE, {"now": connection.ops.adapt_datetimefield_value(now), "lo": lo, "hi": hi})
        rows = sorted(cursor.fetchall(), key=lambda row: (row[1], str(row[4]), row[0]), reverse=True)
    for _id, recipient_id, kind, title, _created in rows:
        d = digest(recipient_id)
        d.total += 1
        d.kinds[kind] += 1
        if len(d.items) < top:
            d.items.append((kind, title))
    return digests


def _recipients(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = list(ids)
    users = {
        row["id"]: {**row, "language": ""}
        for row in get_user_model().objects.filter(id__in=ids).values("id", "username", "email", "first_name")
    }
    for user_id, language in (
        Membership.objects.filter(user_id__in=ids)
        .exclude(language="")
        .order_by("id")
        .values_list("user_id", "language")
    ):
        if user_id in users and not users[user_id]["language"]:
            users[user_id]["language"] = language
    return users


def _digest_message(d: Digest, user: dict[str, Any]) -> EmailMessage:
    with translation.override(language_of(user["language"])):
        subject = _("Qinglian: %(count)s new notification(s)") % {"count": d.total}
        lines = [
            _("Hello %(name)s, here is what needs your attention:") % {"name": user["first_name"] or user["username"]},
            "",
        ]
        summary = ", ".join(f"{_(KIND_LABELS.get(kind, kind))} {n}" for kind, n in sorted(d.kinds.items()))
        lines += [summary, ""]
        lines += [f"- [{_(KIND_LABELS.get(kind, kind))}] {title}" for kind, title in d.items]
        if d.total > len(d.items):
            lines.append(_("... and %(count)s more") % {"count": d.total - len(d.items)})
    return EmailMessage(subject=subject, body="\n".join(lines) + "\n", to=[user["email"]])


def digests_send(*, now: datetime, recipients_per_batch: int = 500) -> int:
    """One e-mail per recipient with everything not mailed yet; returns the number of e-mails sent."""
    top = int(settings.TRACKER.get("DIGEST_MAX_ITEMS", 50))
    sent = 0
    last = 0
    mail = get_connection()
    while True:
        batch = list(
            Notification.objects.filter(emailed_at__isnull=True, recipient_id__gt=last)
            .order_by("recipient_id")
            .values_list("recipient_id", flat=True)
            .distinct()[:recipients_per_batch]
        )
        if not batch:
            return sent
        last = batch[-1]
        with transaction.atomic():
            digests = _claim(batch[0], batch[-1], now, top)
        users = _recipients(digests)
        for recipient_id, d in sorted(digests.items()):
            user = users.get(recipient_id)
            if not user or not user["email"] or d.total == 0:
                continue  # nothing to mail to: the in-app inbox has it
            try:
                mail.send_messages([_digest_message(d, user)])
                sent += 1
            except (smtplib.SMTPException, OSError) as exc:
                # Give the notifications back to the next digest.
                logger.warning("digest to user %s not sent (%s); retrying with the next sweep", recipient_id, exc)
                Notification.objects.filter(recipient_id=recipient_id, emailed_at=now).update(emailed_at=None)


# --- Daily digest to supervisors and inspectors ---------------------------------------------------
def _scope_summary(authority_id: int, now: datetime) -> dict[str, int]:
    schools = [u for u in descendant_ids([authority_id]) if u != authority_id]
    schools = list(Unit.objects.filter(id__in=schools, kind=UnitKind.SCHOOL).values_list("id", flat=True))
    flags = Flag.objects.filter(
        school_id__in=schools, resolved_at__isnull=True, cycle__status=CycleStatus.ACTIVE
    ).aggregate(
        critical=Count("id", filter=Q(severity=FlagSeverity.CRITICAL)),
        warning=Count("id", filter=Q(severity=FlagSeverity.WARNING)),
    )
    overdue = Task.objects.filter(overdue_q(now), school_id__in=schools, cycle__status=CycleStatus.ACTIVE).count()
    urges = Urge.objects.filter(
        school_id__in=schools, responded_at__isnull=True, respond_by__lt=now, cycle__status=CycleStatus.ACTIVE
    ).count()
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
    """One e-mail per supervisor or inspector: open flags, overdue tasks and late urge answers in scope.

    Once per member and unit per local day, however often the job runs (DailyDigest's unique key)."""
    day = timezone.localdate(now)
    members = list(
        Membership.objects.filter(role__in=[Role.SUPERVISOR, Role.INSPECTOR], user__is_active=True)
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


# --- Event-driven notifications -------------------------------------------------------------------
def urge_notify(event: Any) -> int:
    """An urge reaches every school account, in its language; once per event (a unique key)."""
    from .services.webhooks import event_deliveries_create

    urge = Urge.objects.select_related("cycle__authority", "school").filter(pk=event.subject_id).first()
    if urge is None:
        return 0
    ctx = {
        "authority": urge.cycle.authority.name,
        "school": urge.school.name,
        "respond_by": urge.respond_by,
        "message": urge.message,
    }
    rows = []
    members = Membership.objects.filter(unit_id=urge.school_id, role=Role.SCHOOL, user__is_active=True).order_by("id")
    seen: set[int] = set()
    for m in members:
        if m.user_id in seen:
            continue
        seen.add(m.user_id)
        title, body = render(K.URGE, ctx, m.language)
        rows.append(
            Notification(
                recipient_id=m.user_id,
                kind=K.URGE,
                title=title[:300],
                body=body,
                school_id=urge.school_id,
                cycle_id=urge.cycle_id,
                event=event,
                created_at=event.occurred_at,
            )
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    title, body = render(K.URGE, ctx, settings.LANGUAGE_CODE)
    event_deliveries_create(event=event, kind=K.URGE, title=title, body=body)
    return len(rows)
