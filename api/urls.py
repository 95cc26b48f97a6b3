from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import dashboards, exports, fairness, integrity, integrity_campaigns, integrity_dashboard, views
from .auth import PasswordView, TokenView
from .cases import CaseViewSet
from .flags import FlagViewSet
from .inspections import InspectionViewSet
from .notices import NoticeViewSet
from .notifications import NotificationViewSet
from .oversight import OversightView
from .urges import UrgeViewSet
from .webhooks import WebhookViewSet

router = DefaultRouter()
router.register("units", views.UnitViewSet, basename="unit")
router.register("cycles", views.CycleViewSet, basename="cycle")
router.register("criteria", views.CriterionViewSet, basename="criterion")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("evidence", views.EvidenceViewSet, basename="evidence")
router.register("events", views.EventViewSet, basename="event")
router.register("flags", FlagViewSet, basename="flag")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("urges", UrgeViewSet, basename="urge")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("integrity/items", integrity.ListItemViewSet, basename="integrity-item")
router.register("integrity/risks", integrity.RiskPointViewSet, basename="integrity-risk")
router.register("integrity/registers", integrity.RegisterViewSet, basename="integrity-register")
router.register("integrity/campaigns", integrity_campaigns.CampaignViewSet, basename="integrity-campaign")
router.register("extension-requests", fairness.ExtensionRequestViewSet, basename="extension-request")
router.register("appeals", fairness.AppealViewSet, basename="appeal")
router.register("inspections", InspectionViewSet, basename="inspection")
router.register("cases", CaseViewSet, basename="case")
router.register("notices", NoticeViewSet, basename="notice")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/password/", PasswordView.as_view(), name="me-password"),
    path("accounts/", views.AccountCreateView.as_view(), name="account-create"),
    path("tasks/<int:pk>/evidence/", views.TaskEvidenceView.as_view(), name="task-evidence"),
    path(
        "tasks/<int:pk>/extension-requests/",
        fairness.TaskExtensionRequestView.as_view(),
        name="task-extension-requests",
    ),
    path("tasks/<int:pk>/appeals/", fairness.TaskAppealView.as_view(), name="task-appeals"),
    path("tasks/<int:pk>/deductions/", fairness.TaskDeductionsView.as_view(), name="task-deductions"),
    path("dashboards/oversight/", OversightView.as_view(), name="dashboard-oversight"),
    path("dashboards/overview/", dashboards.OverviewView.as_view(), name="dashboard-overview"),
    path("dashboards/criteria/", dashboards.CriteriaView.as_view(), name="dashboard-criteria"),
    path("dashboards/trend/", dashboards.TrendView.as_view(), name="dashboard-trend"),
    path("dashboards/schools/<int:pk>/", dashboards.SchoolDashboardView.as_view(), name="dashboard-school"),
    path("exports/overview.csv", exports.OverviewCsvView.as_view(), name="export-overview-csv"),
    path("exports/overview.xlsx", exports.OverviewXlsxView.as_view(), name="export-overview-xlsx"),
    path("exports/criteria.csv", exports.CriteriaCsvView.as_view(), name="export-criteria-csv"),
    path("exports/criteria.xlsx", exports.CriteriaXlsxView.as_view(), name="export-criteria-xlsx"),
    path("dashboards/integrity/", integrity_dashboard.IntegrityDashboardView.as_view(), name="dashboard-integrity"),
    path(
        "exports/integrity/campaign.xlsx",
        integrity_dashboard.CampaignXlsxView.as_view(),
        name="export-integrity-campaign-xlsx",
    ),
    path(
        "exports/integrity/register.xlsx",
        integrity_dashboard.RegisterXlsxView.as_view(),
        name="export-integrity-register-xlsx",
    ),
    path("integrity/checks/", integrity_campaigns.CheckListView.as_view(), name="integrity-check-list"),
    path("integrity/checks/<int:pk>/", integrity_campaigns.CheckDetailView.as_view(), name="integrity-check-detail"),
    path("", include(router.urls)),
]
