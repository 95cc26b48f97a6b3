"""ORM rules inside hand-written SQL: compile a Q or an expression to a fragment for a table alias.

The set-based statements (the reminder planner's INSERT ... SELECT) are written by hand, but the
rules they apply (open, overdue, days overdue) are defined once as Q objects and expressions next to
their Python twins; these helpers turn those definitions into SQL, so no rule is written twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from django.db.models import F, Q, Value
from django.db.models.expressions import Expression
from django.db.models.functions import Cast
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

    A UNION ALL in which each queryset's columns (its model's, then its related objects') have places of
    their own, NULL cast to the column's type in the other branches, so each value keeps its type and its
    field's conversion on every database. A page that lists five things about one object reads them in one
    round trip instead of five. Each queryset must name its order (`order_by`, ascending fields)."""
    parts = []  # per queryset: (model, [(related field or None, model, fields)], order)
    for queryset in querysets:
        model, query = queryset.model, queryset.query
        order = tuple(query.order_by)
        if not order or any(not isinstance(name, str) or name.startswith("-") for name in order):
            raise ValueError(f"{model.__name__}: read_together needs an ascending order_by of fields, not {order}")
        groups = [(None, model, model._meta.concrete_fields)]
        related = query.select_related if isinstance(query.select_related, dict) else {}
        for name, deeper in related.items():
            if deeper:
                raise ValueError(f"{model.__name__}: read_together follows one level of select_related, not {name}")
            field = model._meta.get_field(name)
            groups.append((field, field.related_model, field.related_model._meta.concrete_fields))
        parts.append((model, groups, order))
    places = [
        (index, f"{field.name}__{column.attname}" if field else column.attname, column)
        for index, (_, groups, _order) in enumerate(parts)
        for field, _model, columns in groups
        for column in columns
    ]
    selects = []
    for index, queryset in enumerate(querysets):
        columns = [
            F(name)
            if own == index
            else Cast(Value(None), output_field=column.target_field if column.is_relation else column)
            for own, name, column in places
        ]
        selects.append(queryset.order_by().values_list(Value(index), *columns))
    found: list[list[models.Model]] = [[] for _ in parts]
    for row in selects[0].union(*selects[1:], all=True):
        index = row[0]
        model, groups, _order = parts[index]
        at = 1 + sum(1 for own, _name, _column in places if own < index)
        objects = []
        for _field, group_model, columns in groups:
            values = row[at : at + len(columns)]
            at += len(columns)
            objects.append(
                None
                if values[columns.index(group_model._meta.pk)] is None
                else group_model.from_db(querysets[index].db, [c.attname for c in columns], values)
            )
        for (field, _model, _columns), related in zip(groups[1:], objects[1:], strict=True):
            field.set_cached_value(objects[0], related)
        found[index].append(objects[0])
    for rows, (_model, _groups, order) in zip(found, parts, strict=True):
        rows.sort(key=lambda obj: tuple(getattr(obj, "pk" if name == "pk" else name) for name in order))
    return found
