import csv
from datetime import datetime

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from live import actions, streams
from live.moderation import queue, registry, rules, services
from live.moderation.models import ActionLog, Case, Reason, Report

User = get_user_model()


def _next(request, default: str) -> str:
    for candidate in (request.POST.get("next"), request.GET.get("next"), request.headers.get("Referer")):
        if actions.safe_next(request, candidate):
            return candidate
    return default


def _moderator_required(request):
    if not rules.is_moderator(request.user):
        raise PermissionDenied(_("This page is for moderators."))


# --- reports -------------------------------------------------------------------------------------------------------

def _report_context(request) -> dict:
    kind = request.POST.get("kind") or request.GET.get("kind", "")
    return {"kind": kind, "id": request.POST.get("id") or request.GET.get("id", ""), "reasons": Reason.choices,
            "entry": registry.get(kind), "next": _next(request, "/")}


def _report_slot(request) -> str:
    """The error slot of the report form that was sent (live/moderation/report_form.html), or the page's #flash."""
    kind, object_id = request.POST.get("kind", ""), request.POST.get("id", "")
    if registry.get(kind) is not None and object_id.isascii() and object_id.isdigit():
        return f"report-{kind}-{object_id}-errors"
    return "flash"


def _refused_report_page(request, exc):
    context = {**_report_context(request), "error": actions.message_of(exc),
               "invalid": actions.kind_of(exc) == "invalid"}
    return render(request, "moderation/report.html", context)


@actions.action(slot=_report_slot, page=_refused_report_page)
def report(request):
    """GET: the report form (works without JavaScript). POST: file the report (fields kind, id, reason, details)."""
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(_next(request, request.get_full_path()))
    context = _report_context(request)
    kind, object_id, entry = context["kind"], context["id"], context["entry"]
    if request.method == "POST":
        services.report(reporter=request.user, kind=kind, object_id=object_id,
                        reason=request.POST.get("reason", ""), details=request.POST.get("details", ""))
        thanks = _("Thank you. Moderators will review your report.")
        if request.htmx:
            return render(request, "moderation/report_done.html", {"text": thanks})
        messages.success(request, thanks)
        return redirect(context["next"])
    if entry is None:
        raise Http404
    return render(request, "moderation/report.html", context)


# --- the queue -------------------------------------------------------------------------------------------------------

@login_required
def queue_page(request):
    _moderator_required(request)
    global_moderator = rules.is_global_moderator(request.user)
    spaces = None if global_moderator else rules.moderated_spaces(request.user)
    sort = "most" if request.GET.get("sort") == "most" else "newest"
    kind = request.GET.get("kind", "")
    keys = rules.stream_keys(request.user)
    cursors = [streams.cursor(key) for key in keys]  # before reading what the page shows
    cases = list(queue.open_cases(spaces, viewer=request.user, sort=sort, kind=kind)[:200])
    counters = [queue.counter("" if key == services.GLOBAL_STREAM else key.partition(".")[2]) for key in keys]
    hidden = Case.objects.filter(hidden_at__isnull=False).exclude(author=request.user).select_related(
        "author", "hidden_by")
    if spaces is not None:
        hidden = hidden.filter(space__in=spaces)
    return render(request, "moderation/queue.html", {
        "rows": [queue.row(case) for case in cases],
        "cursors": cursors,
        "counters": counters,
        "sort": sort,
        "kind": kind,
        "kinds": registry.all_kinds(),
        "spaces": spaces,
        "space_rows": [(space, registry.get_space(space)) for space in (spaces or [])],
        "hidden": hidden.order_by("-hidden_at")[:50],
        "global_moderator": global_moderator,
    })


@require_POST
@login_required
@actions.action(back=lambda request: _next(request, "moderation:queue"))
def act(request):
    """hide / unhide / dismiss one item (fields kind, id, action, reason)."""
    action = services.ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        raise Http404
    action(actor=request.user, kind=request.POST.get("kind", ""), object_id=request.POST.get("id"),
           reason=request.POST.get("reason", ""))
    done = {"hide": _("Hidden."), "unhide": _("Visible again."), "dismiss": _("Reports dismissed.")}
    if request.htmx:
        return actions.htmx_flash(request, done[request.POST["action"]])
    messages.success(request, done[request.POST["action"]])
    return redirect(_next(request, "moderation:queue"))


# --- spaces ------------------------------------------------------------------------------------------------------------

@login_required
@actions.action(back=lambda request, space: reverse("moderation:space", kwargs={"space": space}))
def space_page(request, space):
    found = registry.get_space(space)
    if found is None or not rules.can_moderate(request.user, space):
        raise Http404
    registration, obj = found
    if request.method == "POST":
        if request.POST.get("action") in ("lock", "unlock"):
            services.set_lock(actor=request.user, space=space, locked=request.POST["action"] == "lock",
                              reason=request.POST.get("reason", ""))
        elif request.POST.get("action") == "slow_mode":
            services.set_slow_mode(actor=request.user, space=space, seconds=request.POST.get("seconds", ""),
                                   reason=request.POST.get("reason", ""))
        else:
            raise Http404
        if request.htmx:
            return actions.htmx_flash(request, _("Done."))
        messages.success(request, _("Done."))
        return redirect("moderation:space", space=space)
    return render(request, "moderation/space.html", {
        "space": space, "title": registration.title(obj), "url": registration.url(obj),
        "can_lock": registration.lock is not None, "can_slow": registration.slow_mode is not None,
        "locked": registration.is_locked(obj) if registration.is_locked else None,
        "slow_seconds": registration.slow_mode_seconds(obj) if registration.slow_mode_seconds else None,
        "log": ActionLog.objects.filter(space=space).select_related("actor")[:20],
    })


# --- people --------------------------------------------------------------------------------------------------------------

@login_required
@actions.action(back=lambda request, pk: reverse("moderation:user", kwargs={"pk": pk}))
def user_page(request, pk):
    _moderator_required(request)
    if pk >= 2**63:
        raise Http404
    person = get_object_or_404(User, pk=pk)
    global_moderator = rules.is_global_moderator(request.user)
    spaces = None if global_moderator else rules.moderated_spaces(request.user)
    cases = queue.person_cases(person, spaces)
    case = None
    if request.method == "POST":
        action = request.POST.get("action")
        reason = request.POST.get("reason", "")
        if request.POST.get("case", "").isdecimal():  # a hidden field: anything else is no case, not a 500
            case = Case.objects.filter(pk=int(request.POST["case"])).first()
        if action == "warn":
            services.warn(actor=request.user, user=person, reason=reason, case=case)
            done = _("Warning sent.")
        elif action == "block":
            services.block(actor=request.user, user=person, reason=reason,
                           hide_content=request.POST.get("hide_content") == "on")
            done = _("Account blocked.")
        elif action == "unblock":
            services.unblock(actor=request.user, user=person, reason=reason)
            done = _("Account unblocked.")
        else:
            raise Http404
        messages.success(request, done)
        return redirect("moderation:user", pk=person.pk)
    return render(request, "moderation/user.html", {
        "person": person,
        "cases": cases[:50],
        "reports_about": queue.person_reports(person, spaces, viewer=request.user)[:50],
        "actions": queue.person_actions(person, spaces)[:50],
        "global_moderator": global_moderator,
        "own_space_case": cases.first() if not global_moderator else None,
    })


# --- audit and transparency ---------------------------------------------------------------------------------------------

def _filtered_log(request):
    qs = ActionLog.objects.select_related("actor", "target_user")
    filters = {key: request.GET.get(key, "").strip() for key in ("action", "actor", "kind", "space", "since", "until")}
    if filters["action"]:
        qs = qs.filter(action=filters["action"])
    if filters["actor"]:
        qs = qs.filter(actor__in=User.objects.named(filters["actor"]))
    if filters["kind"]:
        qs = qs.filter(kind=filters["kind"])
    if filters["space"]:
        qs = qs.filter(space=filters["space"])
    for key, lookup in (("since", "created_at__date__gte"), ("until", "created_at__date__lte")):
        if filters[key]:
            try:
                qs = qs.filter(**{lookup: datetime.strptime(filters[key], "%Y-%m-%d").date()})
            except ValueError:
                filters[key] = ""
    return qs, filters


@login_required
def log_page(request):
    if not rules.is_administrator(request.user):
        raise PermissionDenied(_("The moderation log is for administrators."))
    qs, filters = _filtered_log(request)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="moderation-log.csv"'
        writer = csv.writer(response)
        writer.writerow(["when", "moderator", "action", "kind", "object_id", "space", "person", "reason", "excerpt"])
        for entry in qs.iterator(chunk_size=500):
            writer.writerow([_csv_safe(str(cell)) for cell in (
                entry.created_at.isoformat(), entry.actor.nickname if entry.actor else "(automatic)",
                entry.action, entry.kind, entry.object_id or "", entry.space,
                entry.target_user.nickname if entry.target_user else "", entry.reason, entry.excerpt,
            )])
        return response
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(request, "moderation/log.html", {
        "page": page, "filters": filters, "actions": ActionLog.Action.choices, "query": query.urlencode(),
    })


def _csv_safe(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: neutralize them."""
    text = (text or "").replace("\r", " ")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t") else text


@login_required
def mine(request):
    """The signed-in person's moderated content and warnings, with the reasons."""
    cases = Case.objects.filter(author=request.user).exclude(kind="user").filter(hidden_at__isnull=False)
    warnings = ActionLog.objects.filter(target_user=request.user, action=ActionLog.Action.WARN)
    return render(request, "moderation/mine.html", {
        "cases": [(case, registry.get(case.kind)) for case in cases.order_by("-hidden_at")[:100]],
        "warnings": warnings[:50],
    })


def transparency(request):
    """Public: reports and moderation decisions per month. Counts only, no names, no content."""
    def per_month(qs, field):
        return {row["month"].date().replace(day=1) if hasattr(row["month"], "date") else row["month"]: row["n"]
                for row in qs.annotate(month=TruncMonth(field)).values("month").annotate(n=Count("pk"))}

    reports = per_month(Report.objects.all(), "created_at")
    hidden = per_month(ActionLog.objects.filter(action__in=["hide", "auto_hide"]), "created_at")
    auto = per_month(ActionLog.objects.filter(action="auto_hide"), "created_at")
    restored = per_month(ActionLog.objects.filter(action="unhide"), "created_at")
    dismissed = per_month(ActionLog.objects.filter(action="dismiss"), "created_at")
    blocked = per_month(ActionLog.objects.filter(action="block"), "created_at")
    months = sorted(set(reports) | set(hidden) | set(restored) | set(dismissed) | set(blocked), reverse=True)[:24]
    rows = [{"month": m, "reports": reports.get(m, 0), "hidden": hidden.get(m, 0), "auto": auto.get(m, 0),
             "restored": restored.get(m, 0), "dismissed": dismissed.get(m, 0), "blocked": blocked.get(m, 0)}
            for m in months]
    return render(request, "moderation/transparency.html", {
        "rows": rows, "threshold": services.threshold(),
    })
