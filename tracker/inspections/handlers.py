"""Side effects of this context's events, after commit. Idempotent: a second run inserts nothing."""

from __future__ import annotations

from tracker.audit.models import Event
from tracker.audit.registry import handles
from tracker.audit.types import EventType
from tracker.notify.models import Notification, NotificationKind
from tracker.notify.texts import language_of
from tracker.org.models import Membership
from tracker.org.tree import descendant_ids

from .models import Notice
from .texts import notice_texts

BATCH = 1000


@handles(EventType.CASE_PUBLISHED)
def notify_notice_published(event: Event) -> None:
    """`notice_published` to every active account of the authority and of every unit under it,
    schools included, in each one's language. The unique (recipient, event, kind) makes it once."""
    notice = Notice.objects.filter(pk=event.data.get("notice")).first()
    if notice is None:
        return
    units = descendant_ids([notice.authority_id])
    languages: dict[int, str] = {}
    for user_id, language in (
        Membership.objects.filter(unit_id__in=units, user__is_active=True)
        .order_by("user_id", "id")
        .values_list("user_id", "language")
    ):
        if not languages.get(user_id):
            languages[user_id] = language
    texts: dict[str, tuple[str, str]] = {}
    rows = []
    for user_id, language in languages.items():
        language = language_of(language)
        if language not in texts:
            texts[language] = notice_texts(notice, language)
        title, body = texts[language]
        rows.append(
            Notification(
                recipient_id=user_id,
                kind=NotificationKind.NOTICE_PUBLISHED,
                title=title[:300],
                body=body,
                event=event,
                created_at=event.occurred_at,
            )
        )
    Notification.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
