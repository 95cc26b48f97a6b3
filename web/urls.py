"""The pages (CONTRACT section 6). /i18n/setlang/ and the API are routed in config/urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .views import dashboard, home, notifications, oversight, schools, tasks, urges

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
]
