import importlib

from django.db import migrations, models

# What each new version of the unit tree's facts changed (tracker.org.models.UnitFactsChange), written by the
# triggers of 0021 in the writer's transaction (PostgreSQL; the SQLite demo keeps no overview parts). The
# version is now taken after the facts row is locked (the ON CONFLICT's SET), so versions grow in commit
# order and the log rows up to a version a reader sees are all committed.
_PG = """
DROP FUNCTION IF EXISTS tracker_unit_facts_set();
CREATE FUNCTION tracker_unit_facts_set(renamed bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    taken bigint;
BEGIN
    INSERT INTO tracker_unittreefacts (id, version) VALUES (1, nextval('tracker_unit_facts_seq'))
    ON CONFLICT (id) DO UPDATE SET version = nextval('tracker_unit_facts_seq')
    RETURNING version INTO taken;
    INSERT INTO tracker_unitfactschange (version, school_id)
    SELECT taken, school FROM unnest(COALESCE(renamed, ARRAY[NULL::bigint])) AS school;
END
$$;
CREATE OR REPLACE FUNCTION tracker_unit_facts_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tracker_unit_facts_set(NULL);
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION tracker_unit_facts_bump_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    other boolean;
    renamed bigint[];
BEGIN
    SELECT bool_or(o.id IS NULL OR n.id IS NULL OR o.parent_id IS DISTINCT FROM n.parent_id
                   OR o.kind IS DISTINCT FROM n.kind),
           array_agg(n.id ORDER BY n.id) FILTER (WHERE n.kind = 'school' AND o.name IS DISTINCT FROM n.name)
    INTO other, renamed
    FROM old_rows o FULL JOIN new_rows n ON n.id = o.id;
    IF other THEN
        PERFORM tracker_unit_facts_set(NULL);
    ELSIF renamed IS NOT NULL THEN
        PERFORM tracker_unit_facts_set(renamed);
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION tracker_unit_facts_bump_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        PERFORM tracker_unit_facts_set(NULL);
    END IF;
    RETURN NULL;
END
$$;
SELECT tracker_unit_facts_set(NULL);
"""

# Back: 0021's functions as they were (its text from the function's definition to the triggers'), the
# sequence kept, so that no version comes back.
_FACTS = importlib.import_module("tracker.migrations.0021_overview_facts")._PG
_PG_BACK = _FACTS[_FACTS.index("CREATE OR REPLACE FUNCTION tracker_unit_facts_set()") : _FACTS.index("CREATE TRIGGER")]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_PG)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS tracker_unit_facts_set(bigint[])")
        schema_editor.execute(_PG_BACK)


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0022_overview_parts_stored"),
    ]

    operations = [
        migrations.CreateModel(
            name="UnitFactsChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.BigIntegerField(db_index=True)),
                ("school_id", models.BigIntegerField(null=True)),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
