"""E-mail digests: one message per recipient per sweep with every notification not mailed yet.

In-app notifications are always written (by the sweep, or by event handlers). The digest claims every
notification of the recipient not mailed yet (an UPDATE ... WHERE emailed_at IS NULL, so concurrent
sweeps never mail one twice) and sends one message through Django's e-mail back-end, in the
recipient's language.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from tracker.org.models import Membership

from .mail import header_text, mail_send
from .models import Notification
from .texts import KIND_LABELS, language_of

logger = logging.getLogger(__name__)


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
            _("Hello %(name)s, here is what needs your attention:")
            % {"name": header_text(user["first_name"] or user["username"])},
            "",
        ]
        summary = ", ".join(f"{_(KIND_LABELS.get(kind, kind))} {n}" for kind, n in sorted(d.kinds.items()))
        lines += [summary, ""]
        lines += [f"- [{_(KIND_LABELS.get(kind, kind))}] {header_text(title)}" for kind, title in d.items]
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
            if mail_send(_digest_message(d, user), connection=mail):
                sent += 1
            else:
                # Give the notifications back to the next digest; the other recipients' go out.
                Notification.objects.filter(recipient_id=recipient_id, emailed_at=now).update(emailed_at=None)
