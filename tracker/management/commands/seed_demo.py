from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from tracker.demo.seed import DEMO_PASSWORD, demo_exists, demo_logins, seed_district, seed_generated
from tracker.monitoring.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Seed the demo district (17 schools, 19 criteria, a year of history), or a generated large one."

    def add_arguments(self, parser):
        parser.add_argument("--schools", type=int, help="generate a district of this many schools")
        parser.add_argument("--criteria", type=int, help="with this many criteria (with --schools)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the demo is already seeded")

    def handle(self, *args, schools=None, criteria=None, if_empty=False, **options):
        if schools or criteria:
            if not (schools and criteria) or schools < 1 or criteria < 1:
                raise CommandError("--schools and --criteria go together, both positive")
            # The progress bars draw on the raw stream (call_command's stderr=, else the terminal's).
            seed_generated(schools=schools, criteria=criteria, out=self.stdout.write, stream=options.get("stderr"))
            self._rollups()
            return
        if demo_exists():
            if not if_empty:
                raise CommandError("the demo district is already seeded (use --if-empty to skip quietly)")
            self.stdout.write("demo district already seeded")
        else:
            self.stdout.write("seeding the demo district ...")
            seed_district(out=self.stdout.write)
            self._rollups()
        # Beat would first sweep one interval after it starts; make the sweep due so the demo shows
        # flags and reminders as soon as the worker and beat are up.
        PeriodicTask.objects.filter(task="tracker.sweep").update(last_run_at=timezone.now() - timedelta(days=1))
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for login in demo_logins():
            self.stdout.write(f"  {login.username:<10} {login.role:<11} {login.unit}")

    def _rollups(self) -> None:
        # The seed writes tasks in bulk: count the dashboards' rollup tables once, at the end.
        self.stdout.write(f"  rollups rebuilt for {rollups_rebuild()} rounds")
