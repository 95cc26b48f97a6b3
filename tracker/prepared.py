"""A `values()` queryset read with its parameters bound by PostgreSQL, prepared once per connection.

Django binds parameters on the client (psycopg's ClientCursor), so PostgreSQL parses and plans every
statement anew: for the task list's page (the scope's tree walks, the cycle's scope, the count over the
window) planning took longer than running it (docs/benchmarks.md, "Real HTTP under load"). Read through a
server-binding cursor with `prepare=True`, the statement is prepared on a connection the first time its
text is seen there, and PostgreSQL may keep a generic plan. Only the statements read here are bound on the
server (Django's own `server_side_binding` would bind every statement of the app, and some SQL the ORM
writes is not preparable: Django ticket #20516). A connection opened with `prepare_threshold=None`
(settings `DATABASE_PREPARED_STATEMENTS=false`, for a pooler in transaction mode) prepares nothing, and
SQLite reads the queryset as usual.

Its timestamps are parsed by psycopg's compiled loader: Django's own (a Python subclass, to set the time zone
it returns) cost the list's page of 50 rows about 300 Python parses. When the session's time zone is UTC and
so is Django's (USE_TZ, the database's TIME_ZONE unset: always, in this project), the compiled loader returns
the very same values (`datetime.timezone.utc`); otherwise Django's loader stays.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, Self

import psycopg
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ValuesIterable
from psycopg.types.datetime import TimestamptzLoader

TIMESTAMPTZ_OID = 1184


class _PreparingCursor(psycopg.Cursor):
    """psycopg's cursor binding on the server, preparing what it executes (`prepare=True`)."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Self:
        return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)


def read_prepared(queryset: QuerySet) -> list[Any]:
    """`list(queryset)`. For a `values()` queryset (without extra(select=)) on PostgreSQL: the same dicts, the
    same converters, the query logged as usual (CaptureQueriesContext), but its statement prepared."""
    connection = connections[queryset.db]
    query = queryset.query
    if connection.vendor != "postgresql" or queryset._iterable_class is not ValuesIterable or query.extra_select:
        return list(queryset)
    compiler = query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    # Django's create_cursor: the connection's time zone loader, unless settings changed it since it opened.
    if raw.adapters.get_loader(TIMESTAMPTZ_OID, psycopg.pq.Format.TEXT).timezone != connection.timezone:
        return list(queryset)
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        cursor = _PreparingCursor(raw)
    if connection.timezone is UTC and raw.info.parameter_status("TimeZone") == "UTC":
        cursor.adapters.register_loader(TIMESTAMPTZ_OID, TimestamptzLoader)  # psycopg's: compiled when it can be
    wrapped = connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)
    with wrapped:
        wrapped.execute(sql, params)
        fetched = wrapped.fetchall()
    names = list(query.selected) if query.selected else [*query.values_select, *query.annotation_select]
    return [dict(zip(names, row, strict=True)) for row in compiler.results_iter(results=[fetched])]
