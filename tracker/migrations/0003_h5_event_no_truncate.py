"""(PostgreSQL) TRUNCATE on the events table is refused too, except for its owner or a superuser.

The row trigger of 0002 refuses UPDATE and DELETE, but TRUNCATE fires no row trigger: an application
role granted every table privilege (the common `GRANT ALL ON ALL TABLES`) could empty the log in one
statement. The owner and superusers may still truncate (Django's test flush does; they could drop the
trigger anyway), so the guard costs nothing and closes the gap for the application's own role.
"""

from django.db import migrations

NO_TRUNCATE_SQL = """
CREATE OR REPLACE FUNCTION tracker_event_no_truncate() RETURNS trigger AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       OR pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'tracker_event is append-only: TRUNCATE refused' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS tracker_event_no_truncate ON tracker_event;
CREATE TRIGGER tracker_event_no_truncate BEFORE TRUNCATE ON tracker_event
    FOR EACH STATEMENT EXECUTE FUNCTION tracker_event_no_truncate();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS tracker_event_no_truncate ON tracker_event;
DROP FUNCTION IF EXISTS tracker_event_no_truncate();
"""


def no_truncate(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NO_TRUNCATE_SQL, params=None)


def drop_no_truncate(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("tracker", "0002_event_chain_head_and_append_only")]

    operations = [migrations.RunPython(no_truncate, drop_no_truncate)]
