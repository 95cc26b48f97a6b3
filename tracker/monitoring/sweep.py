"""The sweep: as of `now`, judge every school of every active cycle, plan the due reminders,
notify, and mail one digest per recipient. Wrapped by the Celery task `tracker.sweep` (beat, every
TRACKER["SWEEP_EVERY_MINUTES"]) and by `manage.py sweep [--now ISO]`.

Idempotent by construction: flags change only where the judgement differs, and every reminder is
recorded under a unique key before it is sent, so a second sweep at the same `now` (or a concurrent
one, a second beat, a retried task) changes nothing. Its queries grow with the batches of task ids,
not with the tasks, and it never holds more than one batch in memory.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from django.utils import timezone

from tracker.notify.deliveries import deliveries_resend
from tracker.notify.digests import digests_send

from .audience import Audience
from .flags import flags_judge
from .reminders import reminders_run
from .rollups import rollups_sweep

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    now: datetime
    flags_opened: int = 0
    flags_escalated: int = 0
    flags_severity_changed: int = 0
    flags_resolved: int = 0
    reminders: int = 0
    notifications: int = 0
    emails: int = 0
    webhooks: int = 0
    webhooks_resent: int = 0

    @property
    def flag_changes(self) -> int:
        return self.flags_opened + self.flags_escalated + self.flags_severity_changed + self.flags_resolved

    def __str__(self) -> str:
        return f"{self.reminders} reminders, {self.flag_changes} flag changes"

    def as_dict(self) -> dict:
        return {**asdict(self), "now": self.now.isoformat(), "flag_changes": self.flag_changes}


def sweep_run(*, now: datetime | None = None, batch_size: int | None = None) -> SweepReport:
    now = now or timezone.now()
    report = SweepReport(now=now)
    flags = flags_judge(now=now)
    report.flags_opened = flags.opened
    report.flags_escalated = flags.escalated
    report.flags_severity_changed = flags.severity_changed
    report.flags_resolved = flags.resolved
    reminders = reminders_run(now=now, batch_size=batch_size, audience=Audience())
    report.reminders = reminders.reminders
    report.notifications = reminders.notifications
    report.webhooks = len(reminders.deliveries)
    report.emails = digests_send(now=now)
    report.webhooks_resent = deliveries_resend(now=now)
    # The rollups' clocks to `now` (the deadlines passed since the last sweep folded into the rows), and
    # the schools still marked dirty handed to a worker: what keeps dashboards reading rows, not tasks.
    rollups_sweep(now=now)
    logger.info("sweep as of %s: %s", now.isoformat(), report.as_dict())
    return report
