from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views
from .auth import TokenView

router = DefaultRouter()
router.register("units", views.UnitViewSet, basename="unit")
router.register("cycles", views.CycleViewSet, basename="cycle")
router.register("criteria", views.CriterionViewSet, basename="criterion")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("evidence", views.EvidenceViewSet, basename="evidence")
router.register("events", views.EventViewSet, basename="event")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("me/", views.MeView.as_view(), name="me"),
    path("accounts/", views.AccountCreateView.as_view(), name="account-create"),
    path("tasks/<int:pk>/evidence/", views.TaskEvidenceView.as_view(), name="task-evidence"),
    path("", include(router.urls)),
]
