"""The shared update loop (model_update) and the event handler registry."""

from __future__ import annotations

import pytest

from tracker import models as m
from tracker.audit.registry import handlers_for, handles
from tracker.audit.types import EventType
from tracker.monitoring.handlers import rejudge_cycle, rejudge_school
from tracker.notify.handlers import notify_task_returned
from tracker.reporting.handlers import warm_overviews
from tracker.updates import model_update

pytestmark = pytest.mark.django_db


def test_model_update_saves_only_the_fields_that_changed(district):
    criterion = district.criterion
    changed = model_update(
        instance=criterion, fields=("title", "category"), data={"title": "New", "category": criterion.category}
    )
    assert changed == {"title": "New"}
    criterion.refresh_from_db()
    assert criterion.title == "New"


def test_model_update_refuses_a_field_outside_the_services_whitelist(district):
    criterion = district.criterion
    with pytest.raises(ValueError, match="cycle"):
        model_update(instance=criterion, fields=("title",), data={"title": "New", "cycle": None})
    criterion.refresh_from_db()
    assert criterion.title != "New"


def test_model_update_without_a_change_writes_nothing(district):
    criterion = district.criterion
    stamp = criterion.updated_at
    assert model_update(instance=criterion, fields=("title",), data={"title": criterion.title}) == {}
    criterion.refresh_from_db()
    assert criterion.updated_at == stamp


def test_contexts_register_their_handlers_by_event_type_at_app_ready():
    # notify_task_returned notifies the school's accounts and its webhooks
    assert handlers_for(EventType.TASK_RETURNED) == [rejudge_school, notify_task_returned]
    # the reporting context warms the kept overview parts once the change has committed
    assert handlers_for("criterion.updated") == [rejudge_cycle, warm_overviews]
    assert handlers_for("task.due_moved") == []
    assert handlers_for("no.such_type") == []


def test_handlers_register_only_for_event_types():
    with pytest.raises(TypeError):
        handles("task.returned")  # type: ignore[arg-type]


def test_every_recorded_event_type_is_an_enum_member(district):
    assert set(m.Event.objects.values_list("type", flat=True)) <= {t.value for t in EventType}
    assert m.Event.objects.exists()
