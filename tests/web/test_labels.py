"""Every code a page shows has its label: a new status or notification kind cannot reach a page as a code."""

from __future__ import annotations

from tracker.models import FlagSeverity, NotificationKind, TaskStatus
from web import labels


def test_every_task_status_notification_kind_and_flag_severity_has_a_label():
    assert set(TaskStatus.values) <= set(labels.STATUS)
    assert set(NotificationKind.values) <= set(labels.NOTIFICATION_KIND)
    assert set(FlagSeverity.values) <= set(labels.SEVERITY)
