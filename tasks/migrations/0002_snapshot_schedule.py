"""The daily trend snapshot (tracker.take_snapshots) in the beat schedule: every day at 23:50 local time.

Idempotent: update_or_create by name. 0001_periodic_tasks creates the same entry under the same name;
this migration makes sure it exists (and has this schedule) whichever of the two is kept, and a
running beat is told to reload. A snapshot taken twice the same day still leaves one row per school.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

SNAPSHOTS = "tracker.take_snapshots: daily trend snapshots"


def ensure_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="50",
        hour="23",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.update_or_create(
        name=SNAPSHOTS,
        defaults={
            "task": "tracker.take_snapshots",
            "crontab": crontab,
            "interval": None,
            "enabled": True,
            "args": "[]",
            "kwargs": "{}",
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SNAPSHOTS).delete()


class Migration(migrations.Migration):
    dependencies = [("tasks", "0001_periodic_tasks")]

    operations = [migrations.RunPython(ensure_schedule, remove_schedule)]
