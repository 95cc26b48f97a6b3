"""The pages (CONTRACT section 6). /i18n/setlang/ and the API are routed in config/urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .views import campaigns, dashboard, home, integrity, notifications, oversight, schools, tasks, urges

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
    path("notifications/", notifications.notification_list, name="notifications"),
    # The integrity programme (CONTRACT section 8)
    path("integrity/lists/", integrity.lists, name="lists"),
    path("integrity/registers/", integrity.registers, name="registers"),
    path("integrity/registers/<int:school_id>/", integrity.register, name="register"),
    path("integrity/campaigns/", campaigns.campaign_list, name="campaigns"),
    path("integrity/campaigns/<int:pk>/", campaigns.campaign_detail, name="campaign"),
]
