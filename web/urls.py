"""The pages (CONTRACT sections 6 and 9). /i18n/setlang/ and the API are routed in config/urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .views import (
    audit,
    campaigns,
    cases,
    dashboard,
    home,
    inspections,
    integrity,
    notices,
    notifications,
    oversight,
    requests,
    schools,
    tasks,
    urges,
)

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tasks/", tasks.task_list, name="tasks"),
    path("tasks/<int:pk>/", tasks.task_detail, name="task"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("schools/<int:pk>/", schools.school_detail, name="school"),
    path("urges/", urges.urge_list, name="urges"),
    path("oversight/", oversight.oversight, name="oversight"),
    path("requests/", requests.request_queue, name="requests"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("inspections/", inspections.inspection_list, name="inspections"),
    path("cases/", cases.case_list, name="cases"),
    path("cases/<int:pk>/", cases.case_detail, name="case"),
    path("notices/", notices.notice_list, name="notices"),
    # The integrity programme (CONTRACT section 8)
    path("integrity/lists/", integrity.lists, name="lists"),
    path("integrity/registers/", integrity.registers, name="registers"),
    path("integrity/registers/<int:school_id>/", integrity.register, name="register"),
    path("integrity/campaigns/", campaigns.campaign_list, name="campaigns"),
    path("integrity/campaigns/<int:pk>/", campaigns.campaign_detail, name="campaign"),
    path("audit/verify/", audit.event_log_verify, name="verify"),
]
