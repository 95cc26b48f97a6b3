from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from tracker.monitoring.rollup_verify import rollups_diff


class Command(BaseCommand):
    help = "Recompute the rollup tables from the tasks: prints 'ok' or the first difference (and fails)."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="read the dashboards' counts as of this ISO time (default: now)")

    def handle(self, *args, now=None, **options):
        when = parse_datetime(now) if now else None
        if now and (when is None or when.tzinfo is None):
            raise CommandError("--now must be an ISO time with its offset, e.g. 2026-03-01T09:00+08:00")
        found = rollups_diff(now=when)
        if found:
            raise CommandError(f"differs: {found}")
        self.stdout.write("ok")
