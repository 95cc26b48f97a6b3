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
from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth as knox_auth
from knox.models import AuthToken
from knox.signals import token_expired


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


class TokenAuthentication(knox_auth.TokenAuthentication):
    """knox's token check, without reading every other token of the user on each request.

    knox deletes the user's other expired tokens whenever one is used: one query more on every API call.
    A token is refused once expired all the same (knox deletes it when it is presented), and the token
    view deletes the user's expired tokens at each login and keeps API_TOKENS_PER_USER at most.
    """

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


def tokens_prune(*, user_id: int, keep: int) -> None:
    """At login: delete the user's expired tokens, then all but the `keep` newest."""
    AuthToken.objects.filter(user_id=user_id, expiry__lt=timezone.now()).delete()
    stale = AuthToken.objects.filter(user_id=user_id).order_by("-created").values_list("pk", flat=True)[keep:]
    AuthToken.objects.filter(pk__in=list(stale)).delete()


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of knox's tokens, for our subclass (drf-spectacular matches exact classes)."""

    target_class = "api.tokens.TokenAuthentication"
