"""GET /healthz: 200 when the database and the broker answer, 503 naming what is down (readiness).
GET /livez: 200 when the process answers, asking neither (liveness; the load test's bare view)."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from config.celery import app


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as "down", never crash the probe
        return f"down: {type(exc).__name__}"


def _broker() -> str:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"down: {type(exc).__name__}"


@require_GET
def healthz(request):
    body = {"database": _database(), "broker": _broker()}
    ok = all(v == "ok" for v in body.values())
    return JsonResponse(body, status=200 if ok else 503)


@require_GET
def livez(request):
    return JsonResponse({"status": "ok"})
