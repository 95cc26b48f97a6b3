from django.core.management.base import BaseCommand, CommandError

from tracker.audit.events import events_verify


class Command(BaseCommand):
    help = "Verify the event log's hash chain: prints 'ok <N> events' or names the first broken event."

    def handle(self, *args, **options):
        report = events_verify()
        if report.ok:
            self.stdout.write(f"ok {report.count} events")
            return
        where = f"event {report.broken_event_id}" if report.broken_event_id else "the chain head"
        raise CommandError(f"broken at {where}: {report.reason} ({report.count} events verified before it)")
