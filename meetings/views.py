"""Thin views: read the request, call a service, answer with a page, an htmx fragment or a redirect.

Pages that follow a stream take its cursor BEFORE reading what they show. Actions posted with htmx answer 204
(or the form they came from): the change reaches this page through the same push as everyone else's. A refusal is
answered by the write seam (live.actions): in #flash or the form's error slot with htmx."""

import csv
import secrets
from datetime import UTC
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from live import actions, streams
from live.middleware import content_security_policy
from live.socket_writes import parse_id
from meetings import embeds, frames, rendering, services, writes
from meetings.forms import MeetingForm, PollForm, ReportForm
from meetings.models import AgendaItem, Contribution, Meeting, Poll, SpeakerRequest, WordEntry
from meetings.permissions import can_create_meeting, is_facilitator, participant_for
from meetings.sessions import allow_screen, remember_participant

PARTS = "meetings/parts.html"


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def done(request, meeting, *, ok=None, to=None):
    """The answer to an action: htmx gets 204 (the push shows the change); a plain form gets a flash message and a
    redirect."""
    if request.htmx:
        return HttpResponse(status=204)
    if ok:
        messages.success(request, ok)
    return redirect(to or reverse("meetings:live", args=[meeting.pk]))


def facilitated(request, pk) -> Meeting:
    meeting = get_object_or_404(Meeting.objects.select_related("current_item"), pk=pk)
    services.ensure_facilitator(request.user, meeting)
    return meeting


def _meeting_url(request, pk, **_kwargs) -> str:
    return reverse("meetings:detail", args=[pk])


def _phone_url(request, pk, **_kwargs) -> str:
    return reverse("meetings:live", args=[pk])


def _console_url(request, pk, **_kwargs) -> str:
    return reverse("meetings:console", args=[pk])


console_action = actions.action(back=_console_url)


# --- meetings -----------------------------------------------------------------------------------------------------

def meeting_list(request):
    meetings = Meeting.objects.home_page()
    now = timezone.now()
    return render(request, "meetings/meeting_list.html", {
        "live": [m for m in meetings if m.live_open],
        "upcoming": [m for m in meetings if not m.live_open and m.ends_at >= now],
        "past": [m for m in meetings if not m.live_open and m.ends_at < now][:50],
        "can_create": can_create_meeting(request.user),
    })


def meeting_detail(request, pk):
    meeting = get_object_or_404(Meeting.objects.select_related("current_item"), pk=pk)
    cursor = streams.cursor(meeting.stream_key)
    registered = request.user.is_authenticated and meeting.registrations.filter(user=request.user).exists()
    return render(request, "meetings/meeting_detail.html", {
        "meeting": meeting, "cursor": cursor, "agenda": meeting.agenda_items.all(),
        "registered": registered, "registered_count": meeting.registrations.count(),
        "full": meeting.capacity is not None and meeting.registrations.count() >= meeting.capacity,
        "is_facilitator": is_facilitator(request.user, meeting),
        "facilitators": services.facilitators(meeting),
        "counts": services.report_counts(meeting) if meeting.report_published else None,
        "debate_url": _debate_url(meeting),
        **(rendering.report_context(meeting) if meeting.report_published else {}),
    })


def _debate_url(meeting):
    if not meeting.debate_id:
        return None
    try:
        return reverse("debates:detail", args=[meeting.debate_id])
    except Exception:
        return None


def _agenda_text(meeting) -> str:
    return "\n".join(f"{i.title} | {i.duration_minutes}" if i.duration_minutes else i.title
                     for i in meeting.agenda_items.all())


def _save_meeting(request, form, meeting=None):
    data = dict(form.cleaned_data)
    facilitators = data.pop("facilitator_names")

    def save():
        agenda = services.parse_agenda(data.pop("agenda"))
        if meeting is None:
            return services.create_meeting(actor=request.user, agenda=agenda, facilitators=facilitators, **data)
        return services.update_meeting(actor=request.user, meeting=meeting, agenda=agenda,
                                       facilitators=facilitators, **data)
    return actions.submit(form, save)


@login_required
def meeting_create(request):
    services.ensure_can_create_meeting(request.user)
    form = MeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        meeting = _save_meeting(request, form)
        if meeting:
            messages.success(request, _("The meeting is created."))
            return redirect(meeting)
    return actions.form_page(request, "meetings/meeting_form.html", {"form": form})


@login_required
def meeting_edit(request, pk):
    meeting = facilitated(request, pk)
    initial = {"agenda": _agenda_text(meeting),
               "facilitator_names": ", ".join(u.nickname for u in services.facilitators(meeting)
                                              if u.pk != request.user.pk)}
    form = MeetingForm(request.POST or None, instance=Meeting.objects.get(pk=pk), initial=initial)
    if request.method == "POST" and form.is_valid():
        if _save_meeting(request, form, meeting):
            messages.success(request, _("The meeting is saved."))
            return redirect(meeting)
    return actions.form_page(request, "meetings/meeting_form.html", {"form": form, "meeting": meeting})


def _ics_escape(text: str) -> str:
    return (text or "").replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n") \
        .replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 5545 3.1), without splitting a UTF-8 character."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > (75 if not out else 74):
            out.append(current)
            current = ""
        current += char
    out.append(current)
    return "\r\n ".join(out)


def meeting_ics(request, pk):
    meeting = get_object_or_404(Meeting, pk=pk)

    def stamp(value):
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    url = request.build_absolute_uri(meeting.get_absolute_url())
    location = meeting.place if meeting.has_place else meeting.online_url
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Agora Live//Meetings//FR", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:meeting-{meeting.pk}@{request.get_host().split(':')[0]}",
        f"DTSTAMP:{stamp(timezone.now())}", f"DTSTART:{stamp(meeting.starts_at)}", f"DTEND:{stamp(meeting.ends_at)}",
        f"SUMMARY:{_ics_escape(meeting.title)}",
        f"DESCRIPTION:{_ics_escape((meeting.description + chr(10) + chr(10) + url).strip())}",
        f"LOCATION:{_ics_escape(location)}", f"URL:{url}", "END:VEVENT", "END:VCALENDAR",
    ]
    response = HttpResponse("\r\n".join(_ics_fold(line) for line in lines) + "\r\n",
                            content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
    return response


@login_required
@require_POST
@actions.action(back=_meeting_url)
def register(request, pk):
    meeting = get_object_or_404(Meeting, pk=pk)
    services.register(user=request.user, meeting=meeting, code=request.POST.get("code", ""))
    return done(request, meeting, ok=_("You are registered."), to=meeting.get_absolute_url())


@login_required
@require_POST
@actions.action(back=_meeting_url)
def unregister(request, pk):
    meeting = get_object_or_404(Meeting, pk=pk)
    services.unregister(user=request.user, meeting=meeting)
    return done(request, meeting, ok=_("Your registration is cancelled."), to=meeting.get_absolute_url())


@login_required
def report_edit(request, pk):
    meeting = facilitated(request, pk)
    counts = services.report_counts(meeting)
    form = ReportForm(request.POST or None, initial={
        "report_minutes": meeting.report_minutes, "publish": meeting.report_published,
        "report_attendees": meeting.report_attendees if meeting.report_attendees is not None
        else counts["participants"]})
    if request.method == "POST" and form.is_valid():
        if actions.submit(form, lambda: services.save_report(
                actor=request.user, meeting=meeting, minutes=form.cleaned_data["report_minutes"],
                attendees=form.cleaned_data["report_attendees"], publish=form.cleaned_data["publish"])):
            messages.success(request, _("The report is saved."))
            return redirect(meeting)
    return actions.form_page(request, "meetings/report_form.html", {"form": form, "meeting": meeting,
                                                                    "counts": counts,
                                                                    **rendering.report_context(meeting)})


# --- joining ---------------------------------------------------------------------------------------------------------

def _join(request, meeting, nickname=""):
    if not request.user.is_authenticated:
        known = participant_for(request.user, request.session, meeting)
        if known is not None:  # scanned the QR code again: same guest, same contributions
            return known
    participant = services.join(meeting=meeting, user=request.user, nickname=nickname, ip=client_ip(request))
    if not request.user.is_authenticated:
        remember_participant(request.session, participant)
    return participant


def _join_page(request, exc=None):
    # The field the error is about: the nickname when the service named it (empty, refused), else the code.
    about = "nickname" if "nickname" in getattr(exc, "error_dict", {}) else "code"
    return render(request, "meetings/join.html", {
        "code": services.normalize_code(request.POST.get("code") or request.GET.get("code") or ""),
        "nickname": request.POST.get("nickname", ""), "about": about,
        "error": actions.message_of(exc) if exc else None, "invalid": exc is not None and actions.kind_of(exc) == "invalid"})


@actions.action(page=_join_page)
def join_by_code(request):
    """The QR code and the "enter the code" form lead here."""
    if request.method == "POST":
        meeting = services.meeting_for_code(request.POST.get("code", ""), ip=client_ip(request))
        _join(request, meeting, request.POST.get("nickname", ""))
        return redirect("meetings:live", pk=meeting.pk)
    return _join_page(request)


@require_POST
@actions.action(back=_phone_url)
def live_join(request, pk):
    meeting = get_object_or_404(Meeting, pk=pk)
    _join(request, meeting, request.POST.get("nickname", ""))
    return redirect("meetings:live", pk=meeting.pk)


# --- the phone page ---------------------------------------------------------------------------------------------------

def live(request, pk):
    return _phone_page(request, pk)


def remote(request, pk):
    """Remote participants of a hybrid or online meeting: the livestream beside the phone's page (what the screen
    shows that phones see too, and the same controls), live. A provider that sets cookies is framed only once the
    person asked (`?show=1`, remembered in the session); the page's CSP frames that provider's origin only."""
    meeting = get_object_or_404(Meeting, pk=pk)
    embed = embeds.embed_or_none(meeting.stream_url)
    asked = f"meeting-{pk}-stream"
    if embed is not None and request.GET.get("show") == "1":
        request.session[asked] = True
    show = embed is not None and (not embed.sets_cookies or request.session.get(asked, False))
    response = _phone_page(request, pk, remote={"embed": embed, "show_embed": show})
    if embed is not None:
        response["Content-Security-Policy"] = content_security_policy(request, frame_src=[embed.origin])
    return response


def _phone_page(request, pk, remote=None, refused=None):
    meeting = get_object_or_404(Meeting.objects.select_related("current_item"), pk=pk)
    cursor = streams.cursor(meeting.stream_key)
    if request.user.is_authenticated:
        services.claim_guest_participations(session=request.session, user=request.user, meeting=meeting)
    participant = participant_for(request.user, request.session, meeting)
    context = rendering.phone_context(meeting)
    for p in context["polls"]:
        _mine(p, participant)
    return render(request, "meetings/live.html", {
        **context, "cursor": cursor, "participant": participant,
        "client_id": secrets.token_urlsafe(12),
        "is_facilitator": is_facilitator(request.user, meeting),
        "remote": remote,
        **(refused or {}),
    })


def _mine(p: dict, participant) -> dict:
    """A poll card with this person's answer: the choices they ticked, or their words in the answer fields."""
    if p["poll"].is_words:
        p["mine"] = services.own_word_entries(participant, p["poll"])
        p["word_slots"] = rendering.word_slots(p["mine"])
    else:
        p["mine"] = services.own_answers(participant, p["poll"])
    return p


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def found(view):
    """A meeting or poll that does not exist is a 404 (meetings/writes.py raises its DoesNotExist)."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ObjectDoesNotExist:
            raise Http404 from None
    return wrapper


def _refused_contribution_page(request, exc, pk):
    """Without JavaScript a refused contribution comes back in its form on the phone page, with the reason, the
    text and the same client id, instead of being lost behind a redirect."""
    meeting = get_object_or_404(Meeting, pk=pk)
    if participant_for(request.user, request.session, meeting) is None:
        raise exc if isinstance(exc, PermissionDenied) else PermissionDenied(actions.message_of(exc))
    if not meeting.live_open:  # the form is not shown while the session is closed: the page's flash says why
        messages.error(request, actions.message_of(exc))
        return _phone_page(request, pk)
    kind = request.POST.get("kind", "")
    refused = {"form_body": request.POST.get("body", ""), "form_kind": kind if isinstance(kind, str) else "",
               "client_id": request.POST.get("client_id", "")[:40] or secrets.token_urlsafe(12)}
    if "agenda_item" in getattr(exc, "error_dict", {}):  # said under the list, which alone is marked invalid
        refused.update(item_error=actions.message_of(exc), item_invalid=True)
    else:
        refused.update(error=actions.message_of(exc), invalid=actions.kind_of(exc) == "invalid",
                       form_item=parse_id(request.POST.get("agenda_item")))
    return _phone_page(request, pk, refused=refused)


@require_POST
@found
@actions.action(slot="contribution-form-errors", back=_phone_url, page=_refused_contribution_page,
                field_slots={"agenda_item": "contribution-item-errors"})
def contribute(request, pk):
    # A refusal leaves the form as it is, with the same client id: resending this text is the same contribution.
    contribution, meeting, agenda, ok = writes.contribute(user=request.user, session=request.session, meeting_pk=pk,
                                                          data=request.POST)
    if request.htmx:  # what changed only: what else the person chose, and their focus, stay as they are
        return render(request, f"{PARTS}#contribution-sent", {
            **rendering.common(meeting), "agenda": agenda, "client_id": secrets.token_urlsafe(12), "form_message": ok})
    messages.success(request, ok)
    return redirect("meetings:live", pk=pk)


@require_POST
@found
@actions.action(back=_phone_url)
def vote(request, pk, cid):
    ok = writes.vote(user=request.user, session=request.session, meeting_pk=pk, contribution_pk=cid)
    if request.htmx:
        return HttpResponse(status=204)
    messages.success(request, ok)
    return redirect("meetings:live", pk=pk)


@require_POST
@found
@actions.action(slot="poll-{poll}-form-errors", back=_phone_url)
def answer(request, pk, poll):
    poll, participant, ok = writes.answer(user=request.user, session=request.session, meeting_pk=pk, poll_pk=poll,
                                          data=request.POST)
    if not request.htmx:
        return done(request, poll.meeting, ok=ok)
    p = _mine({"poll": poll}, participant)
    return render(request, f"{PARTS}#poll-form", {**rendering.common(poll.meeting), "p": p, "poll_message": ok})


@require_POST
@found
@actions.action(slot="hand-form-errors", back=_phone_url)
def hand(request, pk):
    meeting = writes.hand(user=request.user, session=request.session, meeting_pk=pk, data=request.POST)
    if not request.htmx:
        return done(request, meeting)
    return render(request, f"{PARTS}#hand-form", {"meeting": meeting})


@require_POST
@found
@actions.action(slot="reaction-form-errors", back=_phone_url)
def react(request, pk):
    ok = writes.react(user=request.user, session=request.session, meeting_pk=pk, data=request.POST)
    if request.htmx:
        return HttpResponse(status=204)
    messages.success(request, ok)
    return redirect("meetings:live", pk=pk)


# --- the screen ----------------------------------------------------------------------------------------------------

def screen(request, pk, token=None):
    """The projector: read-only, full screen. By the secret URL (remembered in the session, which is what the socket
    is authorized by) or by a facilitator's session."""
    meeting = get_object_or_404(Meeting.objects.select_related("current_item"), pk=pk)
    if token is not None:
        if not constant_time_compare(token, meeting.screen_token):
            raise Http404
        allow_screen(request.session, meeting)
    elif not is_facilitator(request.user, meeting):
        if request.user.is_authenticated:
            raise PermissionDenied
        return redirect(f"{reverse('accounts:login')}?next={request.path}")
    frames.ensure_sweeper()  # this process flushes the frames of reactions and answers a dead process left behind
    cursor = streams.cursor(meeting.screen_stream_key)
    response = render(request, "meetings/screen.html", {**rendering.screen_context(meeting), "cursor": cursor})
    response["Referrer-Policy"] = "no-referrer"  # the secret URL must not leak to another site
    return response


# --- the console ---------------------------------------------------------------------------------------------------

@login_required
def console(request, pk):
    meeting = facilitated(request, pk)
    frames.ensure_sweeper()
    console_cursor = streams.cursor(meeting.console_stream_key)
    screen_cursor = streams.cursor(meeting.screen_stream_key)
    return render(request, "meetings/console.html", {
        **rendering.screen_context(meeting), **rendering.console_context(meeting),
        "console_cursor": console_cursor, "screen_cursor": screen_cursor,
        "screen_url": request.build_absolute_uri(reverse("meetings:screen", args=[meeting.pk, meeting.screen_token])),
        "poll_form": PollForm(),
    })


def _named(table: dict, request):
    """The action a console button names in its "action" field."""
    action = table.get(request.POST.get("action", ""))
    if action is None:
        raise ValidationError(_("Unknown action."))
    return action


def _facilitator_action(request, pk, action):
    meeting = facilitated(request, pk)
    action(meeting)
    return done(request, meeting, ok=_("Done."), to=reverse("meetings:console", args=[pk]))


@login_required
@require_POST
@console_action
def session_open(request, pk):
    return _facilitator_action(request, pk, lambda m: services.open_session(actor=request.user, meeting=m))


@login_required
@require_POST
@console_action
def session_close(request, pk):
    return _facilitator_action(request, pk, lambda m: services.close_session(actor=request.user, meeting=m))


@login_required
@require_POST
@console_action
def session_settings(request, pk):
    slow = _int(request.POST.get("slow_mode_seconds") or 0)
    return _facilitator_action(request, pk, lambda m: services.update_session_settings(
        actor=request.user, meeting=m, premoderation=request.POST.get("premoderation") == "1",
        allow_anonymous=request.POST.get("allow_anonymous") == "1",
        slow_mode_seconds=slow if slow is not None else -1))


@login_required
@require_POST
@console_action
def rotate_screen_token(request, pk):
    meeting = facilitated(request, pk)
    services.rotate_screen_token(actor=request.user, meeting=meeting)
    messages.success(request, _("The screen has a new secret URL; the old one no longer works."))
    return redirect("meetings:console", pk=pk)


@login_required
@require_POST
@console_action
def moderate(request, pk, cid):
    def run(meeting):
        contribution = get_object_or_404(Contribution, pk=cid, meeting=meeting)
        _named(services.MODERATION_ACTIONS, request)(request.user, contribution)
    return _facilitator_action(request, pk, run)


@login_required
@require_POST
@console_action
def current_item(request, pk):
    def run(meeting):
        value = request.POST.get("item") or ""  # "": the "No current item" button
        item_pk = parse_id(value)
        if value and item_pk is None:
            raise Http404  # a value that names no item, as one of another meeting
        item = get_object_or_404(AgendaItem, pk=item_pk, meeting=meeting) if item_pk else None
        services.set_current_item(actor=request.user, meeting=meeting, item=item)
    return _facilitator_action(request, pk, run)


@login_required
@require_POST
@console_action
def poll_create(request, pk):
    form = PollForm(request.POST)

    def run(meeting):
        if not form.is_valid():
            raise ValidationError([e for errors in form.errors.values() for e in errors])
        services.create_poll(actor=request.user, meeting=meeting, question=form.cleaned_data["question"],
                             kind=form.cleaned_data["kind"], choices=form.cleaned_data["choices"].splitlines(),
                             scale=form.cleaned_data["scale"], low_label=form.cleaned_data["low_label"],
                             high_label=form.cleaned_data["high_label"])
    return _facilitator_action(request, pk, run)


@login_required
@require_POST
@console_action
def poll_action(request, pk, poll):
    def run(meeting):
        target = get_object_or_404(Poll, pk=poll, meeting=meeting)
        action = _named({"open": services.open_poll, "close": services.close_poll, "delete": services.delete_poll},
                        request)
        action(actor=request.user, poll=target)
    return _facilitator_action(request, pk, run)


@login_required
@require_POST
@console_action
def word_entry(request, pk, entry):
    meeting = get_object_or_404(Meeting, pk=pk)
    target = get_object_or_404(WordEntry.objects.select_related("poll"), pk=entry, poll__meeting=meeting)
    approve = _named({"approve": True, "reject": False}, request)
    services.moderate_word_entry(actor=request.user, entry=target, approve=approve)
    return done(request, meeting, ok=_("Done."), to=reverse("meetings:console", args=[pk]))


@login_required
@require_POST
@console_action
def word_action(request, pk, poll):
    meeting = get_object_or_404(Meeting, pk=pk)
    target = get_object_or_404(Poll, pk=poll, meeting=meeting)
    _named(services.WORD_ACTIONS, request)(request.user, target, request.POST)
    return done(request, meeting, ok=_("Done."), to=reverse("meetings:console", args=[pk]))


@login_required
@require_POST
@console_action
def speaker_action(request, pk, req):
    def run(meeting):
        target = get_object_or_404(SpeakerRequest, pk=req, meeting=meeting)
        _named({"floor": services.give_floor, "done": services.finish_speaker}, request)(
            actor=request.user, request=target)
    return _facilitator_action(request, pk, run)


@login_required
@require_POST
@console_action
def speakers_clear(request, pk):
    return _facilitator_action(request, pk, lambda m: services.clear_speakers(actor=request.user, meeting=m))


@login_required
@require_POST
@console_action
def publish_debate(request, pk):
    meeting = facilitated(request, pk)
    debate = services.publish_as_debate(actor=request.user, meeting=meeting)
    messages.success(request, _("The approved contributions are published as a debate."))
    return redirect(debate.get_absolute_url())


# --- exports -------------------------------------------------------------------------------------------------------

def _safe_cell(value):
    """Spreadsheets run cells starting with = + - @ as formulas (CSV injection): make them text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _contribution_rows(meeting):
    for c in meeting.contributions.select_related("participant__user", "agenda_item").order_by("created_at", "pk"):
        yield {
            "id": c.pk, "created_at": c.created_at.isoformat(), "kind": c.kind, "status": c.status,
            "hidden": c.hidden_at is not None, "pinned": c.pinned, "answered": c.answered_at is not None,
            "votes": c.vote_count, "agenda_item": c.agenda_item.title if c.agenda_item else "",
            "author": c.participant.display_name, "anonymous": c.participant.is_anonymous, "text": c.body,
        }


def _poll_rows(meeting):
    """One row per choice, per visible word of a word cloud (hidden words never leave the console), per value of a
    scale (with its mean)."""
    for poll in meeting.polls.exclude(status=Poll.Status.DRAFT).order_by("pk"):
        card = rendering.poll_card(poll)
        base = {"poll_id": poll.pk, "question": poll.question, "type": poll.kind, "status": poll.status,
                "respondents": card["respondents"], "mean": card.get("mean", "")}
        if poll.is_words:
            for w in rendering.word_cloud(poll, limit=10 ** 6)["words"]:
                yield {**base, "choice": w.text, "count": w.count, "percent": ""}
            continue
        for r in card["results"]:
            yield {**base, "choice": r["choice"].label, "count": r["count"], "percent": r["percent"]}


def _reaction_rows(meeting):
    for row in rendering.reactions_by_item(meeting):
        for r in row["counts"]:
            yield {"agenda_item": row["item"] or "", "reaction": r["kind"], "count": r["count"]}


def _csv(rows, fields, filename):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so spreadsheets read the accents right
    writer = csv.DictWriter(response, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _safe_cell(v) for k, v in row.items()})
    return response


CONTRIBUTION_FIELDS = ["id", "created_at", "kind", "status", "hidden", "pinned", "answered", "votes", "agenda_item",
                       "author", "anonymous", "text"]
POLL_FIELDS = ["poll_id", "question", "type", "status", "respondents", "mean", "choice", "count", "percent"]
REACTION_FIELDS = ["agenda_item", "reaction", "count"]


@login_required
def export_contributions_csv(request, pk):
    meeting = facilitated(request, pk)
    return _csv(_contribution_rows(meeting), CONTRIBUTION_FIELDS, f"meeting-{pk}-contributions.csv")


@login_required
def export_polls_csv(request, pk):
    meeting = facilitated(request, pk)
    return _csv(_poll_rows(meeting), POLL_FIELDS, f"meeting-{pk}-polls.csv")


@login_required
def export_reactions_csv(request, pk):
    meeting = facilitated(request, pk)
    return _csv(_reaction_rows(meeting), REACTION_FIELDS, f"meeting-{pk}-reactions.csv")


@login_required
def export_json(request, pk):
    meeting = facilitated(request, pk)
    data = {
        "meeting": {"id": meeting.pk, "title": meeting.title, "starts_at": meeting.starts_at.isoformat(),
                    "ends_at": meeting.ends_at.isoformat(), "place": meeting.place,
                    "counts": services.report_counts(meeting)},
        "contributions": list(_contribution_rows(meeting)),
        "polls": list(_poll_rows(meeting)),
        "reactions": list(_reaction_rows(meeting)),
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="meeting-{pk}.json"'
    return response
