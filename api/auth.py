"""Token login (POST /api/v1/auth/token/) and the caller's own password (POST /api/v1/me/password/).

Both check a password through django.contrib.auth.authenticate(), so the one login policy of
config/login_policy.py counts their failures and refuses a locked address or username with 429 (and
Retry-After). Tokens are django-rest-knox's: stored hashed, several per user, expiring after
API_TOKEN_IDLE_MINUTES without use and API_TOKEN_MAX_DAYS after issue; api/tokens.py revokes them when
the password changes or the account is deactivated, by whatever path.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, update_session_auth_hash, user_logged_in
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.login_policy import lockout_message, retry_after
from tracker.org.services import account_password_change

from .serializers import StrictSerializer
from .tokens import tokens_prune


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(help_text="when the token expires unless it is used before then")


class PasswordChangeSerializer(StrictSerializer):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


def check_password(request, *, username: str, password: str, field: str):
    """The user these credentials belong to, through authenticate() and so through the login policy:
    429 while the address or username is locked, 400 naming `field` when the password is wrong."""
    user = authenticate(request, username=username, password=password)
    if user is not None:
        return user
    if getattr(request, "axes_locked_out", False):
        seconds = retry_after(request, {"username": username})
        raise Throttled(wait=seconds, detail=lockout_message(seconds))
    raise ValidationError({field: [_("Unable to log in with the credentials provided.")]})


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    login_policy = True  # answers 429 while locked (api/schema.py documents it)

    @extend_schema(
        request=TokenRequestSerializer,
        responses=TokenResponseSerializer,
        description="Log in: a token for the `Authorization: Token <token>` header. Failed attempts count "
        "against the client's address and the username (429 with Retry-After while locked).",
    )
    def post(self, request):
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = check_password(
            request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
            field="non_field_errors",
        )
        instance, token = AuthToken.objects.create(user=user)
        # Keep the newest live tokens only: a script that logs in on every run does not pile them up.
        tokens_prune(user_id=user.pk, keep=settings.API_TOKENS_PER_USER)
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response(TokenResponseSerializer({"token": token, "expiry": instance.expiry}).data)


class PasswordView(APIView):
    login_policy = True

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={204: None},
        description="Change the caller's password (Django's password validators). Every API token of the "
        "user is revoked; a session used for this request stays logged in.",
    )
    def post(self, request):
        body = PasswordChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user
        check_password(
            request, username=user.get_username(), password=body.validated_data["old_password"], field="old_password"
        )
        account_password_change(user=user, actor=user, new_password=body.validated_data["new_password"])
        if request.auth is None:  # logged in by session: keep this session, end the others
            update_session_auth_hash(request, user)
        return Response(status=status.HTTP_204_NO_CONTENT)
