from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.health import healthz, livez

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Django's set_language: POST `language` (and `next`); the choice is kept in a cookie.
    path("i18n/setlang/", set_language, name="set_language"),
    # The web app: every other path.
    path("", include("web.urls")),
]

# Under /api/, errors raised outside DRF's views (unknown URLs, malformed multipart) answer in JSON too;
# elsewhere they are the web app's pages (web/templates/400.html, 404.html, 500.html).
handler400 = "api.http_errors.bad_request"
handler404 = "api.http_errors.page_not_found"
handler500 = "api.http_errors.server_error"
