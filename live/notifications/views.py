from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from live import ratelimit, streams
from live.notifications import services
from live.notifications.models import Notification


@login_required
def notification_list(request):
    cursor = streams.cursor(request.user.stream_key)
    notifications = Notification.objects.filter(user=request.user)[:100]
    return render(request, "notifications/notification_list.html",
                  {"notifications": notifications, "list_cursor": cursor})


@login_required
@require_POST
def mark_read(request):
    ratelimit.enforce("default", request.user)
    ids = None
    if request.POST.get("id"):
        try:
            ids = [int(request.POST["id"])]
        except ValueError:
            ids = []
    services.mark_read(user=request.user, ids=ids)
    if request.htmx:
        from django.http import HttpResponse

        return HttpResponse(status=204)  # the push updates every tab, this one included
    return redirect("notifications:list")
