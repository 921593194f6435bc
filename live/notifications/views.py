from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from live import actions, ratelimit, streams
from live.notifications import push, services
from live.notifications.forms import PreferencesForm
from live.notifications.models import Category, Notification, PushSubscription


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
        return HttpResponse(status=204)  # the push updates every tab, this one included
    return redirect("notifications:list")


@login_required
def preferences(request):
    form = PreferencesForm(request.POST or None, instance=services.preferences_of(request.user),
                           push=push.configured())
    if request.method == "POST" and form.is_valid():
        if actions.submit(form, lambda: services.save_preferences(user=request.user, form=form)):
            messages.success(request, _("Your notification preferences are saved."))
            return redirect("notifications:preferences")
    endpoints = PushSubscription.objects.filter(user=request.user, session_key=request.session.session_key or "-")
    return actions.form_page(request, "notifications/preferences.html", {
        "form": form, "vapid_public_key": settings.WEBPUSH_VAPID_PUBLIC_KEY if push.configured() else "",
        "push_endpoints": list(endpoints.values_list("endpoint", flat=True))})


@login_required
@require_POST
@actions.action()
def push_subscribe(request):
    """This device's push subscription, from static/notifications/push.js."""
    services.subscribe_push(user=request.user, endpoint=request.POST.get("endpoint", ""),
                            p256dh=request.POST.get("p256dh", ""), auth=request.POST.get("auth", ""),
                            session_key=request.session.session_key or "")
    return HttpResponse(status=204)


@login_required
@require_POST
@actions.action()
def push_unsubscribe(request):
    ratelimit.enforce("default", request.user)
    services.unsubscribe_push(user=request.user, endpoint=request.POST.get("endpoint", ""))
    return HttpResponse(status=204)


def service_worker(request):
    """The service worker, from the site's root so that it may show the notifications of every page."""
    script = (Path(settings.BASE_DIR) / "static" / "notifications" / "sw.js").read_text()
    response = HttpResponse(script, content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response


@actions.action()
@csrf_exempt  # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" without a page or a cookie
def unsubscribe(request, token):
    """Stop one kind of e-mail (or all) from a link in an e-mail, without signing in: GET shows a button, POST
    (the button, or the mail client's one-click) does it."""
    found = services.read_unsubscribe_token(token)
    if found is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    preferences, category = found
    label = Category(category).label if category != services.ALL else None
    if request.method == "POST":
        services.unsubscribe(preferences=preferences, category=category)
        return render(request, "notifications/unsubscribe.html", {"done": True, "label": label})
    return render(request, "notifications/unsubscribe.html", {"label": label, "token": token})


def manifest(request):
    """The web app manifest: a resident can add Agora Live to their phone's home screen (iOS allows Web Push only
    from there)."""
    from django.http import JsonResponse
    from django.templatetags.static import static

    response = JsonResponse({
        "name": "Agora Live", "short_name": "Agora Live", "lang": settings.LANGUAGE_CODE,
        "description": _("Debates and public meetings of the city, live."),
        "id": "/", "start_url": "/", "scope": "/", "display": "standalone",
        "theme_color": "#1d4ed8", "background_color": "#ffffff",
        "icons": [{"src": static(f"live/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png",
                   "purpose": "any maskable"} for size in (192, 512)],
    })
    response["Content-Type"] = "application/manifest+json"
    return response
