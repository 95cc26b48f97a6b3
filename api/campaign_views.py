"""The district views of an integrity campaign (`?campaign=`, optional `?unit=`): the access rules of the
cycle's (api.dashboards.district_view, in the same order), with the campaign's own refusals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from tracker import scope
from tracker.integrity.models import Campaign
from tracker.org.models import Unit

from .dashboards import MAX_ID, district_view


def _campaign_access(user, campaign_id: int) -> tuple[Campaign | None, tuple[int, ...]]:
    access = scope.campaign_access(user=user, campaign_id=campaign_id)
    return access.campaign, access.roots


class CampaignQuerySerializer(serializers.Serializer):
    campaign = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    unit = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


CAMPAIGN_PARAM = OpenApiParameter(
    "campaign", OpenApiTypes.INT, required=True, description="the integrity campaign (required)"
)


@dataclass(frozen=True)
class CampaignRequest:
    campaign: Campaign
    roots: tuple[int, ...]
    unit: Unit | None
    params: dict[str, Any]


def campaign_request(request, *, query_serializer=CampaignQuerySerializer) -> CampaignRequest:
    """dashboard_request for an integrity campaign (`?campaign=`, optional `?unit=`)."""
    texts = (
        _("No such campaign."),
        _("Only a supervisor or inspector over this campaign's schools may read its dashboards."),
        _("Must be the campaign's authority or a unit under it."),
    )
    campaign, roots, unit, params = district_view(request, query_serializer, "campaign", _campaign_access, texts)
    return CampaignRequest(campaign=campaign, roots=roots, unit=unit, params=params)
