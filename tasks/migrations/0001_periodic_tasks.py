"""The beat schedule, in django-celery-beat's tables (DatabaseScheduler), editable in the admin.

Created by `migrate`, idempotently (update_or_create by name): the sweep every
TRACKER["SWEEP_EVERY_MINUTES"] minutes, the event relay every minute, the daily digest at
TRACKER["DIGEST_HOUR"] and the daily snapshots at 23:50, local time (TIME_ZONE).
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

SWEEP = "tracker.sweep: flags and reminders"
RELAY = "tracker.relay_events: re-dispatch unfinished events"
DIGEST = "tracker.daily_digest: e-mail supervisors and inspectors"
SNAPSHOTS = "tracker.take_snapshots: daily trend snapshots"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")

    def every(minutes):
        schedule, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        return schedule

    def daily(hour, minute=0):
        schedule, _ = CrontabSchedule.objects.get_or_create(
            minute=str(minute),
            hour=str(hour),
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone=settings.TIME_ZONE,
        )
        return schedule

    rows = [
        (SWEEP, "tracker.sweep", {"interval": every(int(settings.TRACKER["SWEEP_EVERY_MINUTES"])), "crontab": None}),
        (RELAY, "tracker.relay_events", {"interval": every(1), "crontab": None}),
        (DIGEST, "tracker.daily_digest", {"crontab": daily(int(settings.TRACKER["DIGEST_HOUR"])), "interval": None}),
        (SNAPSHOTS, "tracker.take_snapshots", {"crontab": daily(23, 50), "interval": None}),
    ]
    for name, task, schedule in rows:
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "enabled": True, "args": "[]", "kwargs": "{}", **schedule}
        )
    # Tell a running beat to reload its schedule.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[SWEEP, RELAY, DIGEST, SNAPSHOTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
