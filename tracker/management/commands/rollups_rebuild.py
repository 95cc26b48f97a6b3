from django.core.management.base import BaseCommand

from tracker.monitoring.rollups import rollups_rebuild
from tracker.reporting.handlers import overviews_warm


class Command(BaseCommand):
    help = "Rebuild the rollup tables of every cycle and campaign from their tasks (after bulk loads)."

    def handle(self, *args, **options):
        rounds = rollups_rebuild()
        self.stdout.write(f"rebuilt the rollups of {rounds} rounds")
        # The rows were reset: the kept overview parts cannot be patched; build them now, not on a request.
        overviews_warm()
