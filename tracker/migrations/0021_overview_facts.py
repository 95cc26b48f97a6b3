from django.db import migrations, models

# The unit tree's facts version (tracker.org.models.UnitTreeFacts): a value it never had before, in
# the writer's transaction, whenever a statement on tracker_unit changes what the flat overview takes
# from the tree: a unit inserted or deleted (or the table truncated), a unit's parent or kind, a school's
# name. On PostgreSQL statement-level triggers compare the statement's old and new rows (transition
# tables) and take the value from a sequence; on SQLite (the demo) row-level triggers count.
_PG = """
CREATE SEQUENCE tracker_unit_facts_seq;
CREATE OR REPLACE FUNCTION tracker_unit_facts_set() RETURNS void LANGUAGE sql AS $$
    INSERT INTO tracker_unittreefacts (id, version) VALUES (1, nextval('tracker_unit_facts_seq'))
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
$$;
CREATE OR REPLACE FUNCTION tracker_unit_facts_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tracker_unit_facts_set();
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION tracker_unit_facts_bump_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM old_rows o FULL JOIN new_rows n ON n.id = o.id
        WHERE o.id IS NULL OR n.id IS NULL OR o.parent_id IS DISTINCT FROM n.parent_id
           OR o.kind IS DISTINCT FROM n.kind OR (n.kind = 'school' AND o.name IS DISTINCT FROM n.name)
    ) THEN
        PERFORM tracker_unit_facts_set();
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION tracker_unit_facts_bump_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        PERFORM tracker_unit_facts_set();
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tracker_unit_facts_insert AFTER INSERT ON tracker_unit
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION tracker_unit_facts_bump_rows();
CREATE TRIGGER tracker_unit_facts_update AFTER UPDATE ON tracker_unit
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tracker_unit_facts_bump_update();
CREATE TRIGGER tracker_unit_facts_delete AFTER DELETE ON tracker_unit
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION tracker_unit_facts_bump_rows();
CREATE TRIGGER tracker_unit_facts_truncate AFTER TRUNCATE ON tracker_unit
    FOR EACH STATEMENT EXECUTE FUNCTION tracker_unit_facts_bump();
SELECT tracker_unit_facts_set();
"""
_PG_DROP = """
DROP TRIGGER IF EXISTS tracker_unit_facts_insert ON tracker_unit;
DROP TRIGGER IF EXISTS tracker_unit_facts_update ON tracker_unit;
DROP TRIGGER IF EXISTS tracker_unit_facts_delete ON tracker_unit;
DROP TRIGGER IF EXISTS tracker_unit_facts_truncate ON tracker_unit;
DROP FUNCTION IF EXISTS tracker_unit_facts_bump_update();
DROP FUNCTION IF EXISTS tracker_unit_facts_bump_rows();
DROP FUNCTION IF EXISTS tracker_unit_facts_bump();
DROP FUNCTION IF EXISTS tracker_unit_facts_set();
DROP SEQUENCE IF EXISTS tracker_unit_facts_seq;
"""
_SQLITE = {
    "insert": "",
    "delete": "",
    "update": "WHEN old.parent_id IS NOT new.parent_id OR old.kind IS NOT new.kind "
    "OR (new.kind = 'school' AND old.name IS NOT new.name) ",
}


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_PG)
        return
    schema_editor.execute("INSERT INTO tracker_unittreefacts (id, version) VALUES (1, 1)")
    for op, when in _SQLITE.items():
        schema_editor.execute(
            f"CREATE TRIGGER tracker_unit_facts_{op} AFTER {op.upper()} ON tracker_unit {when}BEGIN "
            "INSERT OR IGNORE INTO tracker_unittreefacts (id, version) VALUES (1, 0); "
            "UPDATE tracker_unittreefacts SET version = version + 1; END"
        )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_PG_DROP)
    else:
        for op in _SQLITE:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS tracker_unit_facts_{op}")
    schema_editor.execute("DELETE FROM tracker_unittreefacts")


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0020_criteria_rollups"),
    ]

    operations = [
        migrations.CreateModel(
            name="UnitTreeFacts",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
