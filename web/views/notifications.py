"""/notifications/: the person's own notifications, unread first; mark one or all read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tracker.models import Notification
from tracker.notify.services import notification_read, notifications_read_all

PAGE_SIZE = 30


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request: HttpRequest) -> HttpResponse:
    mine = Notification.objects.filter(recipient_id=request.user.pk)
    if request.method == "POST":
        if request.POST.get("action") == "read_all":
            count = notifications_read_all(actor=request.user)
            messages.success(request, _("%(count)s notification(s) marked as read.") % {"count": count})
        else:
            raw = request.POST.get("notification", "")
            item = mine.filter(pk=int(raw)).first() if raw.isdigit() else None
            if item is None:
                raise Http404
            notification_read(notification=item, actor=request.user)
        if not request.htmx:
            return redirect(request.get_full_path())
    ordered = mine.select_related("task__criterion", "school").order_by(
        F("read_at").asc(nulls_first=True), "-created_at", "-id"
    )
    page = Paginator(ordered, PAGE_SIZE).get_page(request.GET.get("page"))
    template = "web/notifications/_list.html" if request.htmx else "web/notifications/list.html"
    return render(request, template, {"page": page})
