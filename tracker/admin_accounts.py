"""Django's user admin, with every change recorded (CONTRACT section 2: no path around the services).

Adding or changing an account goes through `account_admin_save`, which saves it and records its event in
the admin's transaction; the password form's change is recorded in the same transaction as the new
password. An account is never deleted (events name their actors): deactivate it instead.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction

from .org.services import account_admin_save
from .text import single_line

User = get_user_model()


class AccountAdmin(UserAdmin):
    def get_form(self, request, obj=None, **kwargs):
        """Names refuse control characters, as every text field of the domain does (tracker/text.py)."""
        form = super().get_form(request, obj, **kwargs)
        for name in ("username", "first_name", "last_name"):
            field = form.base_fields.get(name)
            if field is not None and single_line not in field.validators:
                field.validators = [*field.validators, single_line]
        return form

    def save_model(self, request, obj, form, change):
        account_admin_save(actor=request.user, user=obj, created=not change, changed=list(form.changed_data))

    def has_delete_permission(self, request, obj=None):
        return False

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = User.objects.get(pk=id)
                account_admin_save(actor=request.user, user=user, created=False, changed=["password"])
        return response


admin.site.unregister(User)
admin.site.register(User, AccountAdmin)
