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
