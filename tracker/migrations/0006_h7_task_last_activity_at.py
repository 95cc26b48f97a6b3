"""Task.last_activity_at: stored when something happens to a task, instead of derived from the events.

The dashboards' last activity per school becomes max(task.last_activity_at) inside the same GROUP BY
as the counts; it used to be one index probe over tracker_event per school (about 64 ms of a 0.4 s
overview at 12,000 schools, docs/benchmarks.md). The task services stamp the field with their `now`
from now on; existing tasks get the time of their latest event. The partial index that served the
probe (0004, event_task_activity) has no other reader and cost something on every event insert.
"""

from django.db import migrations, models

# The time of each task's latest event; tasks without events stay NULL. Plain SQL that PostgreSQL and
# SQLite both run; only tasks that have an event are rewritten.
BACKFILL = """
UPDATE tracker_task
SET last_activity_at = (SELECT MAX(e.occurred_at) FROM tracker_event e WHERE e.task_id = tracker_task.id)
WHERE id IN (SELECT task_id FROM tracker_event WHERE task_id IS NOT NULL)
"""


class Migration(migrations.Migration):
    dependencies = [("tracker", "0005_eventdispatch_relay_backoff")]

    operations = [
        migrations.AddField(
            model_name="task",
            name="last_activity_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.RemoveIndex(model_name="event", name="event_task_activity"),
    ]
