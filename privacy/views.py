from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from live import actions
from opendata import services as opendata
from privacy import services
from privacy.models import DataExport


def legal_bases() -> dict[str, str]:
    """On what each processing rests (GDPR article 6, told to the person by article 13.1.c), as the policy page
    names them: the city runs its citizen participation as a task in the public interest; push notifications and
    showing one's Decidim picture rest on the person's consent, which they withdraw where they gave it; the archives
    answer the rights of access and portability, a legal obligation."""
    return {
        "public": _("A task in the public interest: the city's citizen participation (GDPR art. 6.1.e)"),
        "push": _("Push notifications: your consent (GDPR art. 6.1.a), which you withdraw by turning them off"),
        "picture": _("Your picture: your consent (GDPR art. 6.1.a), which you withdraw on your profile"),
        "obligation": _("A legal obligation: your rights of access and portability (GDPR art. 6.1.c, 15 and 20)"),
    }


def policy(request):
    """"Données personnelles": what is kept, why, on what legal basis, for how long, and whom to contact, from the
    settings."""
    return render(request, "privacy/policy.html", {
        "bases": legal_bases(),
        "controller": settings.PRIVACY_CONTROLLER, "dpo": settings.PRIVACY_DPO_CONTACT,
        "export_hours": settings.PRIVACY_EXPORT_HOURS,
        "export_records_days": settings.PRIVACY_EXPORT_RECORDS_DAYS, "messages_days": settings.PRIVACY_MESSAGES_DAYS,
        "notifications_days": settings.PRIVACY_NOTIFICATIONS_DAYS, "guests_days": settings.PRIVACY_GUESTS_DAYS,
        "ip_days": settings.PRIVACY_IP_DAYS,
        "deleted_days": settings.PRIVACY_DELETED_DAYS, "events_days": settings.LIVE_RETENTION_DAYS,
        "session_days": settings.SESSION_COOKIE_AGE // 86400})


@login_required
def my_data(request):
    exports = DataExport.objects.filter(user=request.user).defer("archive")[:5]
    return render(request, "privacy/my_data.html", {
        "exports": exports, "in_progress": any(export.in_progress for export in exports),
        "hides_name": opendata.hides_name(request.user)})


@require_POST
@actions.action()
def request_export(request):
    services.request_export(user=request.user)
    if request.htmx:
        return my_data(request)
    return redirect("privacy:my_data")


def download(request, token):
    try:
        export = services.download(user=request.user, token=token)
    except actions.REFUSALS as exc:
        return actions.refusal(request, exc)
    response = HttpResponse(bytes(export.archive), content_type="application/zip")
    name = _("my-data") + f"-{export.finished_at:%Y-%m-%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
