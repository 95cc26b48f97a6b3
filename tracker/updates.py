"""The one update loop of the services: set the allowed fields that changed, save only those.

In the manner of HackSoft's Django-Styleguide `model_update`: each service names the fields it lets a
caller change, so an unexpected key is a programming error (a serializer let it through), never a
silent write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def model_update(*, instance: M, fields: Iterable[str], data: Mapping[str, Any], save: bool = True) -> dict[str, Any]:
    """Set on `instance` every field of `data` whose value differs; return {field: new value} of those.

    `fields` is the service's whitelist: a key of `data` outside it raises ValueError. With `save`,
    the changed fields are saved with `update_fields` (plus any `auto_now` field, e.g. `updated_at`);
    nothing is written when nothing changed.
    """
    allowed = set(fields)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{type(instance).__name__} fields not updatable here: {', '.join(unknown)}")
    changed: dict[str, Any] = {}
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed[name] = value
    if changed and save:
        auto_now = [f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)]
        instance.save(update_fields=[*changed, *(name for name in auto_now if name not in changed)])
    return changed
