"""The admin's kinds of model page: read-only, read-only with actions that call services, and add/change
through services. No path around the services (CONTRACT section 2): each write records its events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model
from django.utils.translation import gettext_lazy as _

from .errors import DomainError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceFormAdmin(admin.ModelAdmin):
    """Add and change through the model's services, which record the events. The form asks the services'
    own check first (`service_check`), so that a refusal shows beside its field rather than as an error page."""

    def service_check(self, obj: Model | None, changes: dict[str, Any]) -> None:
        raise NotImplementedError

    def create(self, request, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def update(self, request, obj: Model, changes: dict[str, Any]) -> None:
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        check = self.service_check

        class ServiceCheckedForm(form_class):
            def clean(self):
                data = super().clean()
                changes = {name: data[name] for name in self.changed_data if name in data}
                try:
                    check(self.instance if self.instance.pk else None, changes)
                except DomainError as exc:
                    field = exc.extra.get("field")
                    self.add_error(field if field in self.fields else None, exc.detail)
                return data

        return ServiceCheckedForm

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.fields if name in form.cleaned_data}
        if change:
            self.update(request, obj, {name: data[name] for name in form.changed_data if name in data})
        else:
            obj.pk = self.create(request, data).pk
        obj.refresh_from_db()


class ServiceActionsAdmin(ReadOnlyAdmin):
    """Read-only, with admin actions that call services: each object in turn, refusals reported."""

    def _each(self, request, queryset, verb: str, call: Callable) -> None:
        done, refused = 0, []
        for obj in queryset.order_by("pk"):
            try:
                call(obj)
                done += 1
            except DomainError as exc:
                refused.append(f"#{obj.pk}: {exc.detail}")
        if done:
            self.message_user(request, _("%(verb)s: %(count)s done.") % {"verb": verb, "count": done})
        if refused:
            self.message_user(request, _("Refused: %(list)s") % {"list": "; ".join(refused)}, messages.ERROR)
