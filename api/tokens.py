"""API tokens die with the password they were issued under, and with the account.

Whatever path changes a password or deactivates an account (POST /me/password/, the admin, `manage.py
changepassword`, a script calling set_password), the user's knox tokens are deleted in the same
transaction, so a stolen token is worth nothing once the owner changes the password. (Sessions need
nothing of ours: Django ends them itself when the password hash changes.)
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from knox.models import AuthToken


def tokens_revoke(*, user_id: int) -> int:
    """Delete every API token of a user; returns how many there were."""
    deleted, _ = AuthToken.objects.filter(user_id=user_id).delete()
    return deleted


def _remember_credentials(sender, instance, update_fields=None, **kwargs) -> None:
    instance._tokens_stale = False
    if instance.pk is None or (update_fields is not None and not {"password", "is_active"} & set(update_fields)):
        return
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is not None:
        instance._tokens_stale = before["password"] != instance.password or (
            before["is_active"] and not instance.is_active
        )


def _revoke_stale_tokens(sender, instance, created=False, **kwargs) -> None:
    if getattr(instance, "_tokens_stale", False):
        instance._tokens_stale = False
        with transaction.atomic():
            tokens_revoke(user_id=instance.pk)


def connect() -> None:
    user_model = get_user_model()
    pre_save.connect(_remember_credentials, sender=user_model, dispatch_uid="api.tokens.remember")
    post_save.connect(_revoke_stale_tokens, sender=user_model, dispatch_uid="api.tokens.revoke")
