"""Index for the dashboards' last_activity_at: the latest event about a school's tasks in a cycle.

Partial (task events only) and ordered by time, so max(occurred_at) per school is one backward
index-only probe instead of a walk over every event of the school (benchmarks: docs/benchmarks.md).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tracker", "0003_h5_event_no_truncate")]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                condition=models.Q(("task__isnull", False)),
                fields=["cycle", "school", "occurred_at"],
                name="event_task_activity",
            ),
        ),
    ]
