"""Messaging pages. Thin: every write goes through live.messaging.services (its refusals are answered by the write
seam, live.actions); every read of a conversation goes through `services.get_participation`, so a non-participant
gets the same 404 as for a missing conversation."""

import json
import uuid
from functools import wraps

from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from live import actions, ratelimit, streams
from live.messaging import presenters, services
from live.messaging.models import Conversation, Message, Preference
from live.socket_writes import Actor, parse_id, socket_write

User = get_user_model()


def participant_required(view):
    """Resolve `pk` to the signed-in user's participation; anything else is a 404."""

    @wraps(view)
    @login_required
    def wrapper(request, pk, *args, **kwargs):
        try:
            participant = services.get_participation(request.user, pk)
        except Conversation.DoesNotExist:
            raise Http404(_("No such conversation.")) from None
        return view(request, participant, *args, **kwargs)

    return wrapper


def report_url() -> str | None:
    try:
        return reverse("moderation:report")
    except NoReverseMatch:  # the moderation app does not take reports yet
        return None


# --- inbox ------------------------------------------------------------------------------------------------------------

@login_required
@never_cache
def inbox(request):
    cursor = streams.cursor(request.user.stream_key)  # before reading what the page shows

    def rows():
        # Read while the template renders, i.e. also after the header's cursor on the same stream (taken by the
        # context processor): the page never claims a position newer than the rows it shows.
        return [presenters.inbox_row(request.user, p) for p in services.participations(request.user)]

    return render(request, "messaging/inbox.html", {"rows": rows, "inbox_cursor": cursor})


# --- starting a conversation ---------------------------------------------------------------------------------------------

def _names(value: str) -> list[str]:
    return [n for n in value.replace(";", ",").split(",") if n.strip()]


def _new_conversation_page(request, exc=None):
    """The form, again with what was typed when the conversation was refused."""
    return render(request, "messaging/conversation_new.html", {
        "to": request.POST.get("to", request.GET.get("to", "")), "body": request.POST.get("body", ""),
        "client_id": request.POST.get("client_id") or str(uuid.uuid4()),
        "error": actions.message_of(exc) if exc else None,
        "invalid": exc is not None and actions.kind_of(exc) == "invalid",
        "max_length": services.max_length(), "max_others": services.max_participants() - 1,
    })


@login_required
@actions.action(page=_new_conversation_page)
def new_conversation(request):
    if request.method == "POST":
        message = services.start_conversation(author=request.user, recipients=_names(request.POST.get("to", "")),
                                              body=request.POST.get("body", ""),
                                              client_id=request.POST.get("client_id") or str(uuid.uuid4()))
        return redirect(message.conversation.get_absolute_url() + f"#message-{message.pk}")
    return _new_conversation_page(request)


# --- a conversation -------------------------------------------------------------------------------------------------

@participant_required
@never_cache
def conversation_detail(request, participant):
    return _conversation_page(request, participant)


def _refused_message_page(request, exc, pk):
    """Without JavaScript a refused message comes back in the composer, with why."""
    try:
        participant = services.get_participation(request.user, pk)
    except Conversation.DoesNotExist:
        raise Http404(_("No such conversation.")) from None
    return _conversation_page(request, participant, draft=request.POST.get("body", ""),
                              error=actions.message_of(exc), invalid=actions.kind_of(exc) == "invalid")


def _conversation_page(request, participant, *, draft="", error=None, invalid=False):
    conversation = participant.conversation
    user = request.user
    try:
        before = int(request.GET.get("before", "") or 0) or None
    except ValueError:
        before = None
    cursor = streams.cursor(conversation.stream_key)
    page, has_earlier = presenters.page_of_messages(user, conversation, before)
    ctx = {
        "conversation": conversation, "participant": participant, "items": presenters.with_days(page),
        "has_earlier": has_earlier, "first_id": page[0].pk if page else None, "before": before,
        "report_url": report_url(),
    }
    if request.htmx and before:
        # "Load earlier": the older page replaces the button; a day separator that the page already shows (the
        # batch ends on the day the page starts with) is removed first, so each day has one separator.
        first_shown = services.visible_messages(user, conversation).filter(pk__gte=before).order_by("pk").first()
        ctx["drop_day"] = (presenters.local_day(first_shown.created_at).isoformat()
                           if first_shown and page and presenters.local_day(page[-1].created_at)
                           == presenters.local_day(first_shown.created_at) else None)
        return render(request, "messaging/conversation_detail.html#earlier", ctx)
    if not before:
        try:
            services.mark_read(user=user, conversation=conversation)
        except ratelimit.RateLimited:
            pass  # reading goes on; the receipt follows with the next read
        participant.refresh_from_db()
    ctx.update({
        "cursor": cursor,
        "title": presenters.title_for(user, conversation),
        "participants": presenters.participants_names(conversation),
        "other_users": services.others(conversation, user),
        "blocked_ids": set(services.blocks_of(user)),
        "client_id": uuid.uuid4(),
        "draft": draft, "error": error, "invalid": invalid,
        "max_length": services.max_length(),
        **presenters.seen_context(conversation),
    })
    return render(request, "messaging/conversation_detail.html", ctx)


def send_from(actor: Actor, conversation: int, data) -> Message:
    """A message from the composer's fields: the one parse + service call of the HTTP view and the socket write.
    The service checks the participation (under the conversation's lock): anyone else gets
    Conversation.DoesNotExist, the 404 (or `not_found`) of a conversation that does not exist."""
    return services.send_message(author=actor.user, conversation=conversation, body=data.get("body", ""),
                                 client_id=data.get("client_id"))


@socket_write("messages.send")
def send_over_socket(actor: Actor, data) -> dict:
    """The composer over the page's socket (static/live/live.js): the conversation is a field of the form."""
    conversation = parse_id(data.get("conversation"))
    if conversation is None:  # a word, or a number no key can have (it would reach the written-out SQL)
        raise ValidationError(_("This form is out of date: reload the page and try again."))
    message = send_from(actor, conversation, data)
    return {"id": message.pk, "conversation": message.conversation_id}


@require_POST
@login_required
@actions.action(slot="composer-error", page=_refused_message_page)
def send(request, pk):
    try:
        message = send_from(Actor.from_request(request), pk, request.POST)
    except Conversation.DoesNotExist:
        raise Http404(_("No such conversation.")) from None
    if request.htmx:
        # The message reaches this tab, like every other, through the conversation stream.
        response = HttpResponse(status=204)
        response["X-Message-Id"] = str(message.pk)
        return response
    return redirect(reverse("messaging:conversation", args=[message.conversation_id]) + f"#message-{message.pk}")


def _conversation_url(request, participant) -> str:
    return participant.conversation.get_absolute_url()


@require_POST
@login_required
@actions.action(back=lambda request, pk: reverse("messaging:conversation", args=[pk]))
def read(request, pk):
    # Without `upto` (a form's "mark as read"), everything; with one that is no message id, nothing.
    upto = request.POST.get("upto", "")
    if upto and parse_id(upto) is None:
        raise ValidationError(_("This form is out of date: reload the page and try again."), code="upto")
    upto = parse_id(upto)
    # A read receipt follows each message a reader sees arrive: the service checks the participation itself
    # (a stranger gets the 404 of a conversation that does not exist).
    try:
        services.mark_read(user=request.user, conversation=pk, upto=upto)
    except Conversation.DoesNotExist:
        raise Http404(_("No such conversation.")) from None
    if request.htmx or request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect(reverse("messaging:conversation", args=[pk]))


@require_POST
@participant_required
@actions.action(back=_conversation_url)
def leave(request, participant):
    services.leave_conversation(user=request.user, conversation=participant.conversation)
    flash.success(request, _("You left the conversation."))
    return redirect("messaging:inbox")


@require_POST
@participant_required
@actions.action(back=_conversation_url)
def add_people(request, participant):
    added = services.add_participants(actor=request.user, conversation=participant.conversation,
                                      recipients=_names(request.POST.get("to", "")))
    flash.success(request, _("Added: %(names)s.") % {"names": ", ".join(u.nickname for u in added)})
    return redirect(participant.conversation.get_absolute_url())


@participant_required
def report(request, participant, message_id):
    """The report form for one message, posted to the moderation app (a participant hands the message over). Not for
    a message hidden by moderation or whose author erased their account: its text is shown to nobody (the page
    offers no "Report" for it, renderers.message_html)."""
    message = (services.visible_messages(request.user, participant.conversation)
               .filter(pk=message_id, kind=Message.Kind.MESSAGE, hidden_at__isnull=True,
                       author__erased_at__isnull=True)
               .exclude(author=request.user).first())
    if message is None:
        raise Http404(_("No such message."))
    return render(request, "messaging/message_report.html", {
        "message": message, "conversation": participant.conversation, "report_url": report_url(),
    })


# --- settings, blocks -----------------------------------------------------------------------------------------------

@login_required
@actions.action(back=lambda request: reverse("messaging:settings"))
def settings_view(request):
    if request.method == "POST":
        services.set_preference(user=request.user, accept_from=request.POST.get("accept_from", ""))
        flash.success(request, _("Your messaging settings are saved."))
        return redirect("messaging:settings")
    blocks = request.user.messaging_blocks.select_related("blocked").order_by("blocked__nickname")
    return render(request, "messaging/settings.html", {
        "accept_from": services.preference_of(request.user), "choices": Preference.AcceptFrom.choices,
        "blocks": blocks,
    })


def _person(request):
    nickname = (request.POST.get("nickname") or "").strip().lstrip("@")
    return User.objects.named(nickname).first()


def _next_url(request) -> str:
    return actions.safe_next(request, request.POST.get("next")) or reverse("messaging:settings")


def _back(request):
    return redirect(_next_url(request))


@login_required
@require_POST
@actions.action(back=_next_url)
def block(request):
    person = _person(request)
    if person is None:
        raise ValidationError(_("No one has this nickname."))
    services.block_user(blocker=request.user, blocked=person)
    flash.success(request, _("You blocked %(name)s. Unblock them from your messaging settings.")
                  % {"name": person.nickname})
    return _back(request)


@login_required
@require_POST
def unblock(request):
    person = _person(request)
    if person is not None and services.unblock_user(blocker=request.user, blocked=person):
        flash.success(request, _("You unblocked %(name)s.") % {"name": person.nickname})
    return _back(request)


# --- privacy: export and search --------------------------------------------------------------------------------------

@login_required
@never_cache
def export(request):
    ratelimit.enforce("default", request.user)
    data = services.export_for(request.user)
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="agora-messages-{request.user.pk}-{stamp}.json"'
    return response


@login_required
@never_cache
def search(request):
    query = request.GET.get("q", "")
    results = services.search(request.user, query)
    return render(request, "messaging/search.html", {"query": query, "results": results})
