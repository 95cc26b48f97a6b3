"""ORM rules inside hand-written SQL: compile a Q or an expression to a fragment for a table alias.

The set-based statements (the reminder planner's INSERT ... SELECT) are written by hand, but the
rules they apply (open, overdue, days overdue) are defined once as Q objects and expressions next to
their Python twins; these helpers turn those definitions into SQL, so no rule is written twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db import connection, connections, models
from django.db.models import Q
from django.db.models.expressions import Expression
from django.db.models.sql import Query

_PLACEHOLDER = re.compile(r"(?<!%)%s")


def _realias(sql: str, model: type[models.Model], alias: str) -> str:
    return sql.replace(connection.ops.quote_name(model._meta.db_table) + ".", alias + ".")


def where_sql(model: type[models.Model], q: Q, *, alias: str) -> tuple[str, list[Any]]:
    """`q` (over `model`'s own columns, no joins) as a WHERE fragment on `alias`, with its parameters."""
    query = Query(model)
    where = query.build_where(q)
    sql, params = where.as_sql(query.get_compiler(connection=connection), connection)
    return _realias(sql, model, alias), list(params)


def expression_sql(model: type[models.Model], expression: Expression, *, alias: str) -> tuple[str, list[Any]]:
    """An expression over `model`'s own columns as SQL on `alias`, with its parameters."""
    query = Query(model)
    resolved = expression.resolve_expression(query, allow_joins=False)
    sql, params = query.get_compiler(connection=connection).compile(resolved)
    return _realias(sql, model, alias), list(params)


def named(sql: str, params: Sequence[Any], prefix: str) -> tuple[str, dict[str, Any]]:
    """Positional `%s` parameters as `%(prefix_N)s` ones, to join a statement that uses named ones."""
    values: dict[str, Any] = {}

    def name(_match: re.Match) -> str:
        key = f"{prefix}_{len(values)}"
        values[key] = params[len(values)]
        return f"%({key})s"

    out = _PLACEHOLDER.sub(name, sql)
    if len(values) != len(params):
        raise ValueError(f"{len(params)} parameters for {len(values)} placeholders")
    return out, values


def rows_written(cursor) -> int:
    """How many rows the INSERT/UPDATE/DELETE just run on `cursor` wrote, on every database.

    DB-API's rowcount is -1 on SQLite for a statement that begins with WITH (Python's sqlite3 counts
    only statements it recognises as DML), so a `WITH ... INSERT` reported 0 rows there while it wrote
    them. SQLite's own changes() counts the last data-changing statement of the connection.
    """
    if connection.vendor == "sqlite":
        cursor.execute("SELECT changes()")
        return int(cursor.fetchone()[0])
    return max(cursor.rowcount, 0)


def read_together(querysets: Sequence[models.QuerySet]) -> list[list[models.Model]]:
    """The rows of several querysets (of different models) in one statement: what `list(queryset)` gives for
    each, in its order, with the objects it `select_related` (one level) attached.

    A UNION ALL of the querysets as the ORM compiles them (their own columns, then their related objects'),
    each given places of its own in the united row and NULL cast to the column's type in the others' places,
    so each value keeps its type; each column then goes through its field's conversions, as the ORM's own
    reading does, on every database. A page that lists five things about one object reads them in one round
    trip instead of five. Each queryset must name its order (`order_by`, ascending fields)."""
    db = querysets[0].db if querysets else "default"
    connection_ = connections[db]
    parts = []  # per queryset: its groups of columns (the model's, each related object's) and its order
    for queryset in querysets:
        model, query = queryset.model, queryset.query
        order = tuple(query.order_by)
        if not order or any(not isinstance(name, str) or name.startswith("-") for name in order):
            raise ValueError(f"{model.__name__}: read_together needs an ascending order_by of fields, not {order}")
        groups = [(None, model, list(model._meta.concrete_fields))]
        related = query.select_related if isinstance(query.select_related, dict) else {}
        for name, deeper in related.items():
            if deeper:
                raise ValueError(f"{model.__name__}: read_together follows one level of select_related, not {name}")
            field = model._meta.get_field(name)
            groups.append((field, field.related_model, list(field.related_model._meta.concrete_fields)))
        parts.append((groups, order))
    columns = [[column for _field, _model, group in groups for column in group] for groups, _order in parts]
    places = [column for own in columns for column in own]
    nulls = [_null(column, connection_) for column in places]
    selects, params, at = [], [], 0
    for index, (queryset, (groups, _order)) in enumerate(zip(querysets, parts, strict=True)):
        names = [f"{field.name}__{c.attname}" if field else c.attname for field, _m, group in groups for c in group]
        sql, own_params = queryset.order_by().values_list(*names).query.get_compiler(using=db).as_sql()
        width = len(columns[index])
        selected = [str(index), *nulls[:at], "s.*", *nulls[at + width :]]
        selects.append(f"SELECT {', '.join(selected)} FROM ({sql}) s")
        params.extend(own_params)
        at += width
    with connection_.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), params)
        rows = cursor.fetchall()
    converters = [_converters(column, connection_) for column in places]
    starts = [sum(len(own) for own in columns[:index]) for index in range(len(columns))]
    found: list[list[models.Model]] = [[] for _ in parts]
    for row in rows:
        index = row[0]
        groups, _order = parts[index]
        at = 1 + starts[index]
        objects = []
        for _field, group_model, group in groups:
            values = [_converted(row[at + i], converters[at - 1 + i], connection_) for i in range(len(group))]
            at += len(group)
            key = values[group.index(group_model._meta.pk)]
            objects.append(None if key is None else group_model.from_db(db, [c.attname for c in group], values))
        for (field, _model, _group), related in zip(groups[1:], objects[1:], strict=True):
            field.set_cached_value(objects[0], related)
        found[index].append(objects[0])
    for rows_found, (_groups, order) in zip(found, parts, strict=True):
        rows_found.sort(key=lambda obj: tuple(getattr(obj, name) for name in order))
    return found


def _null(column: models.Field, connection_) -> str:
    field = column.target_field if column.is_relation else column
    return f"CAST(NULL AS {field.cast_db_type(connection_)})"


def _converters(column: models.Field, connection_) -> list[tuple[Any, Any]]:
    """What the ORM applies to this column's values when it reads them (the back-end's, then the field's)."""
    col = column.get_col(column.model._meta.db_table)
    return [(convert, col) for convert in connection_.ops.get_db_converters(col) + col.get_db_converters(connection_)]


def _converted(value: Any, converters: list[tuple[Any, Any]], connection_) -> Any:
    for convert, col in converters:
        value = convert(value, col, connection_)
    return value
