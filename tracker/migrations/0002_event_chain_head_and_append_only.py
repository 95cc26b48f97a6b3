"""The chain head row, and (PostgreSQL) a trigger that makes the events table append-only."""

from django.db import migrations

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION tracker_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'tracker_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS tracker_event_append_only ON tracker_event;
CREATE TRIGGER tracker_event_append_only BEFORE UPDATE OR DELETE ON tracker_event
    FOR EACH ROW EXECUTE FUNCTION tracker_event_append_only();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS tracker_event_append_only ON tracker_event;
DROP FUNCTION IF EXISTS tracker_event_append_only();
"""


def create_head(apps, schema_editor):
    head = apps.get_model("tracker", "EventChainHead")
    head.objects.get_or_create(pk=1, defaults={"last_hash": "0" * 64, "count": 0})


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL, params=None)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("tracker", "0001_initial")]

    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]
