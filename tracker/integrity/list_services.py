"""Writes of the two lists' items: an authority publishes template items for every school under it, a
school adds its own. Each write records its event (about the school for a school's own item)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tracker.audit.events import event_record
from tracker.audit.types import Actor, EventType
from tracker.errors import ValidationFailed
from tracker.org.models import Unit, UnitKind
from tracker.updates import model_update

from .models import ListItem, ListKind

LIST_ITEM_UPDATABLE = ("code", "title", "category", "basis")
_DUPLICATE = gettext_noop("An item with that code already exists in this list of this unit.")


def _record(type_: EventType, item: ListItem, actor: Actor, data: dict[str, Any]) -> None:
    school = item.unit if item.unit.kind == UnitKind.SCHOOL else None
    event_record(type=type_, subject=item, actor=actor, school=school, data={"unit": item.unit_id, **data})


def _check_text(code: str | None, title: str | None) -> None:
    if code is not None and not code.strip():
        raise ValidationFailed(_("Give the item a code."), field="code")
    if title is not None and not title.strip():
        raise ValidationFailed(_("Give the item a title."), field="title")


@transaction.atomic
def list_item_create(
    *, actor: Actor, unit: Unit, list: str, code: str, title: str, category: str = "", basis: str = ""
) -> ListItem:
    if list not in ListKind.values:
        raise ValidationFailed(_("The list is micro_power or negative."), field="list")
    _check_text(code, title)
    if ListItem.objects.filter(unit=unit, list=list, code=code).exists():
        raise ValidationFailed(_(_DUPLICATE), field="code")
    try:
        with transaction.atomic():
            item = ListItem.objects.create(unit=unit, list=list, code=code, title=title, category=category, basis=basis)
    except IntegrityError as exc:  # a concurrent create with the same code won the race
        raise ValidationFailed(_(_DUPLICATE), field="code") from exc
    _record(EventType.LIST_ITEM_CREATED, item, actor, {"list": list, "code": code, "title": title})
    return item


@transaction.atomic
def list_item_update(*, actor: Actor, item: ListItem, changes: dict[str, Any]) -> ListItem:
    item = ListItem.objects.select_for_update().select_related("unit").get(pk=item.pk)
    _check_text(changes.get("code"), changes.get("title"))
    code = changes.get("code")
    same_code = ListItem.objects.filter(unit=item.unit_id, list=item.list, code=code).exclude(pk=item.pk)
    if code is not None and same_code.exists():
        raise ValidationFailed(_(_DUPLICATE), field="code")
    changed = model_update(instance=item, fields=LIST_ITEM_UPDATABLE, data=changes)
    if changed:
        _record(EventType.LIST_ITEM_UPDATED, item, actor, {"changed": changed})
    return item
