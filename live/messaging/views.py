"""Messaging pages. Thin: every write goes through live.messaging.services; every read of a conversation goes
through `services.get_participation`, so a non-participant gets the same 404 as for a missing conversation."""

import json
import uuid
from functools import wraps

from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from live import ratelimit, streams
from live.messaging import presenters, services
from live.messaging.models import Conversation, Message, Preference

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


def error_text(exc) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc.args[0]) if exc.args else _("You cannot do that.")


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

@login_required
def new_conversation(request):
    to = request.POST.get("to", request.GET.get("to", ""))
    body = request.POST.get("body", "")
    client_id = request.POST.get("client_id") or str(uuid.uuid4())
    error, status = None, 200
    if request.method == "POST":
        names = [n for n in to.replace(";", ",").split(",") if n.strip()]
        try:
            message = services.start_conversation(author=request.user, recipients=names, body=body,
                                                  client_id=client_id)
        except (ValidationError, PermissionDenied) as exc:
            error = error_text(exc)
        except ratelimit.RateLimited as exc:
            error, status = exc.message, 429  # shown in the form, with what was typed
        else:
            return redirect(message.conversation.get_absolute_url() + f"#message-{message.pk}")
    return render(request, "messaging/conversation_new.html", {
        "to": to, "body": body, "client_id": client_id, "error": error,
        "max_length": services.max_length(), "max_others": services.max_participants() - 1,
    }, status=status if status != 200 else (400 if error else 200))


# --- a conversation -------------------------------------------------------------------------------------------------

@participant_required
@never_cache
def conversation_detail(request, participant):
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
        "max_length": services.max_length(),
        **presenters.seen_context(conversation),
    })
    return render(request, "messaging/conversation_detail.html", ctx)


@require_POST
@participant_required
def send(request, participant):
    conversation = participant.conversation
    try:
        message = services.send_message(author=request.user, conversation=conversation,
                                        body=request.POST.get("body", ""), client_id=request.POST.get("client_id"))
    except (ValidationError, PermissionDenied, ratelimit.RateLimited) as exc:
        text, status = (exc.message, 429) if isinstance(exc, ratelimit.RateLimited) else (error_text(exc), 422)
        if request.htmx:
            response = render(request, "messaging/partials/composer_error.html", {"error": text}, status=status)
            if status == 429:
                response["Retry-After"] = str(exc.retry_after)
            return response
        flash.error(request, text)
        return redirect(conversation.get_absolute_url() + "#composer")
    if request.htmx:
        # The message reaches this tab, like every other, through the conversation stream.
        response = HttpResponse(status=204)
        response["X-Message-Id"] = str(message.pk)
        return response
    return redirect(conversation.get_absolute_url() + f"#message-{message.pk}")


@require_POST
@participant_required
def read(request, participant):
    try:
        upto = int(request.POST.get("upto", "") or 0) or None
    except ValueError:
        upto = None
    services.mark_read(user=request.user, conversation=participant.conversation, upto=upto)
    if request.htmx or request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect(participant.conversation.get_absolute_url())


@require_POST
@participant_required
def leave(request, participant):
    try:
        services.leave_conversation(user=request.user, conversation=participant.conversation)
    except ValidationError as exc:
        flash.error(request, error_text(exc))
        return redirect(participant.conversation.get_absolute_url())
    flash.success(request, _("You left the conversation."))
    return redirect("messaging:inbox")


@require_POST
@participant_required
def add_people(request, participant):
    names = [n for n in request.POST.get("to", "").replace(";", ",").split(",") if n.strip()]
    try:
        added = services.add_participants(actor=request.user, conversation=participant.conversation,
                                          recipients=names)
    except (ValidationError, PermissionDenied) as exc:
        flash.error(request, error_text(exc))
    except ratelimit.RateLimited as exc:
        flash.error(request, exc.message)
    else:
        flash.success(request, _("Added: %(names)s.") % {"names": ", ".join(u.nickname for u in added)})
    return redirect(participant.conversation.get_absolute_url())


@participant_required
def report(request, participant, message_id):
    """The report form for one message, posted to the moderation app (a participant hands the message over)."""
    message = (services.visible_messages(request.user, participant.conversation)
               .filter(pk=message_id, kind=Message.Kind.MESSAGE).exclude(author=request.user).first())
    if message is None:
        raise Http404(_("No such message."))
    return render(request, "messaging/message_report.html", {
        "message": message, "conversation": participant.conversation, "report_url": report_url(),
    })


# --- settings, blocks -----------------------------------------------------------------------------------------------

@login_required
def settings_view(request):
    if request.method == "POST":
        try:
            services.set_preference(user=request.user, accept_from=request.POST.get("accept_from", ""))
        except ValidationError as exc:
            flash.error(request, error_text(exc))
        else:
            flash.success(request, _("Your messaging settings are saved."))
        return redirect("messaging:settings")
    blocks = request.user.messaging_blocks.select_related("blocked").order_by("blocked__nickname")
    return render(request, "messaging/settings.html", {
        "accept_from": services.preference_of(request.user), "choices": Preference.AcceptFrom.choices,
        "blocks": blocks,
    })


def _person(request):
    nickname = (request.POST.get("nickname") or "").strip().lstrip("@")
    return User.objects.filter(nickname__iexact=nickname).first() if nickname else None


def _back(request, default="messaging:settings"):
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)


@login_required
@require_POST
def block(request):
    person = _person(request)
    if person is None:
        flash.error(request, _("No one has this nickname."))
        return _back(request)
    try:
        services.block_user(blocker=request.user, blocked=person)
    except ValidationError as exc:
        flash.error(request, error_text(exc))
    else:
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
