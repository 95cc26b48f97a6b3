from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tracker.monitoring.sweep import sweep_run


class Command(BaseCommand):
    help = "Run the sweep now (flags, reminders, notifications, e-mail digests), or as of --now."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO 8601 time to sweep as of, e.g. 2026-03-01T09:00+08:00")
        parser.add_argument("--batch-size", type=int, help="tasks per batch (default TRACKER['SWEEP_BATCH_SIZE'])")

    def handle(self, *args, now=None, batch_size=None, **options):
        when = timezone.now()
        if now:
            try:
                when = parse_datetime(now)
            except ValueError:
                when = None
            if when is None:
                raise CommandError(f"--now {now!r} is not an ISO 8601 date and time")
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be positive")
        report = sweep_run(now=when, batch_size=batch_size)
        self.stdout.write(str(report))
