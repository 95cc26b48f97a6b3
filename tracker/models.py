"""Every model of the `tracker` app, defined in its context's `models` module and gathered here.

Django imports `tracker.models` to register the app's models; importing the context modules from here
is what registers them (each stays in app `tracker`, with its table and migrations unchanged). New code
imports a model from its context (`tracker.assessment.models.Task`); this module is the app's index,
and old migrations refer to `tracker.models.evidence_storage_name`, so that name must stay here.
"""

from __future__ import annotations

from tracker.assessment.fairness_models import Appeal, DeductionEntry, ExtensionRequest
from tracker.assessment.models import (
    Criterion,
    Cycle,
    CycleStatus,
    Evidence,
    Task,
    TaskKind,
    TaskStatus,
    evidence_storage_name,
)
from tracker.assessment.rules import OPEN_STATUSES
from tracker.audit.models import Event, EventChainHead, EventDispatch
from tracker.inspections.models import (
    Case,
    CaseRead,
    CaseRectification,
    CaseStatus,
    CaseType,
    Inspection,
    InspectionKind,
    InspectionTarget,
    Notice,
    TargetKind,
)
from tracker.integrity.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Check,
    Checklist,
    CheckResult,
    ListItem,
    ListKind,
    Post,
    Register,
    RegisterStatus,
    RiskLevel,
    RiskPoint,
)
from tracker.monitoring.models import Flag, FlagSeverity, Reminder, SweepRun, SweepShard, Urge
from tracker.monitoring.rollup_models import (
    CriterionRollup,
    CriterionRollupEdge,
    FlagVersion,
    RollupBlockDirty,
    RollupClock,
    RollupDirty,
    RollupEdge,
    SchoolRollup,
)
from tracker.notify.models import DeliveryStatus, Notification, NotificationKind, Webhook, WebhookDelivery
from tracker.org.models import (
    AUTHORITY_ROLES,
    Membership,
    Role,
    Unit,
    UnitFactsChange,
    UnitKind,
    UnitTreeFacts,
    UnitTreeVersion,
)
from tracker.reporting.models import DailyDigest, DailySnapshot, OverviewParts

__all__ = [
    "AUTHORITY_ROLES",
    "OPEN_STATUSES",
    "Campaign",
    "CampaignKind",
    "CampaignStatus",
    "Appeal",
    "Case",
    "CaseRead",
    "CaseRectification",
    "CaseStatus",
    "CaseType",
    "Check",
    "CheckResult",
    "Checklist",
    "Criterion",
    "Cycle",
    "CycleStatus",
    "DailyDigest",
    "DailySnapshot",
    "DeductionEntry",
    "DeliveryStatus",
    "Event",
    "EventChainHead",
    "EventDispatch",
    "Evidence",
    "ExtensionRequest",
    "Flag",
    "FlagVersion",
    "FlagSeverity",
    "Inspection",
    "InspectionKind",
    "InspectionTarget",
    "ListItem",
    "ListKind",
    "Membership",
    "Notice",
    "Notification",
    "NotificationKind",
    "OverviewParts",
    "Post",
    "Register",
    "RegisterStatus",
    "Reminder",
    "RiskLevel",
    "RiskPoint",
    "CriterionRollup",
    "CriterionRollupEdge",
    "RollupBlockDirty",
    "RollupClock",
    "RollupDirty",
    "RollupEdge",
    "SchoolRollup",
    "Role",
    "TargetKind",
    "Task",
    "TaskKind",
    "TaskStatus",
    "Unit",
    "UnitFactsChange",
    "UnitKind",
    "UnitTreeFacts",
    "UnitTreeVersion",
    "SweepRun",
    "SweepShard",
    "Urge",
    "Webhook",
    "WebhookDelivery",
    "evidence_storage_name",
]
