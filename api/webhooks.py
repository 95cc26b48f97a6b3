"""Webhooks per unit, managed by the supervisors of units in their scope:
GET, POST /api/v1/webhooks/, GET, PATCH, DELETE /api/v1/webhooks/{id}/, and
GET /api/v1/webhooks/{id}/deliveries/ (every message, with its attempts; failed ones stay visible).
The secret is shown once, in the answer to POST (or to a PATCH that sets a new one)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from tracker import scope
from tracker.notify.models import DeliveryStatus, Webhook, WebhookDelivery
from tracker.notify.services import webhook_create, webhook_delete, webhook_update
from tracker.org.models import Role, Unit

from .filters import StrictBooleanFilter, units_in_scope
from .scoping import require_any_role, require_role
from .serializers import ScopedPrimaryKeyRelatedField, StrictSerializer, units_supervised, validated


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Webhook
        fields = ["id", "unit", "url", "active", "created_at"]
        read_only_fields = fields


class WebhookWithSecretSerializer(WebhookSerializer):
    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookCreateSerializer(StrictSerializer):
    # A unit the caller supervises; any other reads as one that does not exist.
    unit = ScopedPrimaryKeyRelatedField(scoped=units_supervised, queryset=Unit.objects.all())
    url = serializers.URLField(max_length=500)
    secret = serializers.CharField(max_length=128, min_length=16, required=False)
    active = serializers.BooleanField(required=False, default=True)


class WebhookUpdateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500, required=False)
    secret = serializers.CharField(max_length=128, min_length=16, required=False)
    active = serializers.BooleanField(required=False)


class DeliverySerializer(serializers.ModelSerializer):
    type = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "message_id",
            "type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields

    def get_type(self, delivery: WebhookDelivery) -> str:
        return str(delivery.payload.get("type", "")) if isinstance(delivery.payload, dict) else ""


class WebhookFilter(filters.FilterSet):
    unit = filters.ModelChoiceFilter(queryset=units_in_scope)
    active = StrictBooleanFilter()

    class Meta:
        model = Webhook
        fields = ["unit", "active"]


class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_class = WebhookFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["id"]

    def get_queryset(self):
        units = scope.unit_ids_for(self.request.user, [Role.SUPERVISOR])
        qs = Webhook.objects.all().order_by("id")
        return qs if units is None else qs.filter(unit_id__in=units)

    def get_serializer_class(self):
        if self.action == "create":
            return WebhookCreateSerializer
        if self.action == "partial_update":
            return WebhookUpdateSerializer
        return WebhookSerializer

    def list(self, request, *args, **kwargs):
        require_any_role(request.user, (Role.SUPERVISOR,), "manage webhooks")
        return super().list(request, *args, **kwargs)

    @extend_schema(request=WebhookCreateSerializer, responses={201: WebhookWithSecretSerializer})
    def create(self, request, *args, **kwargs):
        require_any_role(request.user, (Role.SUPERVISOR,), "manage webhooks")
        data = validated(WebhookCreateSerializer, request)  # unit: one the caller supervises
        webhook = webhook_create(actor=request.user, **data)
        return Response(WebhookWithSecretSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookUpdateSerializer, responses=WebhookSerializer)
    def partial_update(self, request, *args, **kwargs):
        webhook = self.get_object()
        require_role(request.user, webhook.unit_id, Role.SUPERVISOR, "manage webhooks")
        data = validated(WebhookUpdateSerializer, request)
        webhook = webhook_update(actor=request.user, webhook=webhook, changes=dict(data))
        shown = WebhookWithSecretSerializer if "secret" in data else WebhookSerializer
        return Response(shown(webhook).data)

    def destroy(self, request, *args, **kwargs):
        webhook = self.get_object()
        require_role(request.user, webhook.unit_id, Role.SUPERVISOR, "manage webhooks")
        webhook_delete(actor=request.user, webhook=webhook)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])  # newest first; ?status= read below
    def deliveries(self, request, pk=None):
        webhook = self.get_object()
        qs = webhook.deliveries.order_by("-id")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in DeliveryStatus.values:
                choices = ", ".join(DeliveryStatus.values)
                raise ValidationError({"status": [_("One of %(values)s.") % {"values": choices}]})
            qs = qs.filter(status=wanted)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
