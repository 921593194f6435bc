"""Thin views: parse the request, call a service, answer. Every write works as a plain form POST (redirect after
success, the form again with its error otherwise) and with htmx (204: the stream push updates every page, the
poster's included). A refusal is answered by the write seam (live.actions): into the form's error slot with htmx."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from debates import permissions, presence, selectors, services, writes
from debates.forms import CloseForm, DebateForm
from debates.models import LIST_STREAM, Comment, Debate
from live import actions, streams
from live.socket_writes import Actor


def _sort(request) -> str:
    sort = request.GET.get("sort", "")
    return sort if sort in selectors.SORTS else selectors.DEFAULT_SORT


def _page(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), 10000))
    except ValueError:
        return 1


# --- debates -----------------------------------------------------------------------------------------------------

@require_GET
def debate_list(request):
    state = request.GET.get("state", "")
    state = state if state in ("open", "closed") else ""
    q = request.GET.get("q", "").strip()[:100]
    list_cursor = streams.cursor(LIST_STREAM)  # before the queries
    paginator = Paginator(selectors.debate_list(state=state, q=q), 20)
    page = paginator.get_page(request.GET.get("page"))
    debates = selectors.with_readers(page.object_list)
    # Every page is live: what it shows updates in place (counts, readers, closed...). A new debate goes on top of
    # the first page of every debate or of the open ones; elsewhere (a search, the closed ones, a later page) it
    # may not belong: a notice says so and links to the latest debates.
    on_top = page.number == 1 and not q and state in ("", "open")
    return render(request, "debates/debate_list.html", {
        "page": page, "debates": debates, "state": state, "q": q, "list_cursor": list_cursor, "on_top": on_top,
        "can_create": permissions.can_create_debate(request.user),
    })


def _debate_form_values(form):
    data = form.cleaned_data
    return dict(title=data["title"], description=data["description"], instructions=data.get("instructions", ""),
                starts_at=data.get("starts_at"), ends_at=data.get("ends_at"),
                **({"decidim_url": data["decidim_url"]} if "decidim_url" in data else {}))


@login_required
def debate_create(request):
    services.ensure_can_create_debate(request.user)
    form = DebateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        debate = actions.submit(form, lambda: services.create_debate(author=request.user, **_debate_form_values(form)))
        if debate:
            messages.success(request, _("Your debate is open."))
            return redirect(debate)
    return actions.form_page(request, "debates/debate_form.html", {"form": form, "debate": None})


@login_required
def debate_edit(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    services.ensure_can_edit_debate(request.user, debate)
    initial = {"title": debate.title, "description": debate.description, "instructions": debate.instructions,
               "starts_at": debate.starts_at, "ends_at": debate.ends_at, "decidim_url": debate.decidim_url}
    form = DebateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if actions.submit(form, lambda: services.edit_debate(debate=debate, actor=request.user,
                                                             **_debate_form_values(form))):
            messages.success(request, _("The debate is updated."))
            return redirect(debate)
    return actions.form_page(request, "debates/debate_form.html", {"form": form, "debate": debate})


@login_required
def debate_close(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    services.ensure_can_close_debate(request.user, debate)
    form = CloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if actions.submit(form, lambda: services.close_debate(debate=debate, actor=request.user,
                                                              conclusions=form.cleaned_data["conclusions"])):
            messages.success(request, _("The debate is closed and its conclusions are published."))
            return redirect(debate)
    return actions.form_page(request, "debates/debate_close.html", {"form": form, "debate": debate})


def _back(request, debate, fragment=""):
    if request.htmx:
        return HttpResponse(status=204)
    return redirect(debate.get_absolute_url() + fragment)


def _debate_url(request, pk, **_kwargs) -> str:
    return reverse("debates:detail", args=[pk])


@require_POST
@login_required
@actions.action(slot="debate-actions-errors", back=_debate_url)
def debate_reopen(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    services.reopen_debate(debate=debate, actor=request.user)
    return _back(request, debate)


@require_POST
@login_required
@actions.action(slot="debate-actions-errors", back=_debate_url)
def debate_lock(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    # Through moderation: checked, logged in the moderation journal, then debates.services.lock_comments.
    from live.moderation import services as moderation

    locked = {"1": True, "0": False}.get(request.POST.get("locked", ""))  # the page's two buttons
    if locked is None:
        raise ValidationError(_("Unknown action."))
    moderation.set_lock(actor=request.user, space=debate.space, locked=locked, reason=request.POST.get("reason", ""))
    return _back(request, debate)


@require_POST
@login_required
@actions.action(slot="update-form-errors", back=lambda request, pk: _debate_url(request, pk) + "#debate-updates")
def debate_post_update(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    services.post_update(debate=debate, actor=request.user, body=request.POST.get("body", ""))
    return _back(request, debate, "#debate-updates")


def _viewer_context(request, debate) -> dict:
    moderator_view = permissions.is_moderator(request.user, debate)
    return {"moderator_view": moderator_view, "audience": "moderators" if moderator_view else "public",
            "max_length": settings.DEBATES_COMMENT_MAX_LENGTH, "max_depth": Comment.MAX_DEPTH, **selectors.moderation_urls()}


def _debate_controls(user, debate, moderator: bool) -> dict:
    """The managing controls of the page, with each role looked up once."""
    if not permissions.signed_in(user):
        return {"can_edit": False, "can_close": False, "can_lock": False}
    editor = debate.author_id == user.pk or permissions.is_facilitator(user, debate)
    return {"can_edit": editor, "can_close": editor or moderator, "can_lock": moderator}


def _columns(debate, sort, page, stance_param):
    """The two-column view: for and against side by side (neutral under them)."""
    columns = []
    for slug, label in (("for", _("For")), ("against", _("Against")), ("neutral", _("Neutral"))):
        if stance_param and stance_param != slug:
            continue
        roots, has_more = selectors.root_page(debate, sort=sort, page=page, stance=selectors.STANCE_FILTERS[slug])
        columns.append({"slug": slug, "label": label, "roots": roots, "has_more": has_more})
    return columns


def _debate_cursor(pk) -> streams.Cursor:
    """Where the page of debate `pk` stands on its stream, for a debate that exists (404 otherwise: a made-up id,
    past any integer too, must not leave a stream counter behind). Taken before the page reads what it shows:
    whatever commits after it is replayed onto the page and merely re-applied."""
    cursor = streams.cursor(f"debate.{pk}", of=Debate.objects.filter(pk=pk))
    if cursor is None:
        raise Http404(_("No such debate."))
    return cursor


@require_GET
def debate_detail(request, pk):
    cursor = _debate_cursor(pk)
    debate = get_object_or_404(Debate.objects.select_related("author", "closed_by"), pk=pk)
    sort, page = _sort(request), _page(request)
    view = "columns" if request.GET.get("view") == "columns" else "list"
    stance_param = request.GET.get("stance", "")
    stance_param = stance_param if stance_param in selectors.STANCE_FILTERS else ""
    context = {"debate": debate, "cursor": cursor, "sort": sort, "page_number": page, "view": view,
               "sorts": [("best", _("Best rated")), ("recent", _("Most recent")), ("oldest", _("Oldest")),
                         ("discussed", _("Most discussed"))],
               **_viewer_context(request, debate)}
    if view == "columns":
        columns = _columns(debate, sort, page, stance_param)
        for column in columns:
            selectors.apply_votes(request.user, column["roots"])
        context["columns"] = columns
    else:
        roots, has_more = selectors.root_page(debate, sort=sort, page=page)
        selectors.apply_votes(request.user, roots)
        context.update(roots=roots, has_more=has_more)
    if request.htmx and request.GET.get("fragment") == "page":
        # "Load more": the next roots and the next button, appended in place of the button.
        context["column"] = context["columns"][0] if view == "columns" else None
        return render(request, "debates/comment_page.html", context)
    tab = secrets.token_hex(8)
    member = presence.member_for(request.user, tab)
    readers = presence.touch(debate.pk, member) if member else presence.count(debate.pk)
    context.update(
        tab=tab, readers=readers, client_id=new_client_id(), tallies=selectors.tallies(debate),
        updates=list(debate.updates.select_related("author")[:20]),
        refusal=permissions.comment_refusal(request.user, debate),
        **_debate_controls(request.user, debate, context["moderator_view"]),
    )
    return render(request, "debates/debate_detail.html", context)


# --- comments ----------------------------------------------------------------------------------------------------

def _comment_in(debate_pk, comment_pk) -> Comment:
    comment = Comment.objects.select_related("debate", "author").filter(pk=comment_pk).first()
    if comment is None or comment.debate_id != debate_pk:
        raise Http404(_("No such comment in this debate."))
    return comment


def _comment_form_id(request, pk=None, comment_pk=None) -> str:
    if comment_pk is not None:
        return f"edit-form-{comment_pk}"
    parent_id = request.POST.get("parent") or ""
    return f"reply-form-{parent_id}" if parent_id else "comment-form"


def _comment_slot(request, pk, comment_pk=None) -> str:
    return f"{_comment_form_id(request, pk, comment_pk)}-errors" if request.method == "POST" else "flash"


def _refused_comment_page(request, exc, pk, comment_pk=None):
    """Without JavaScript a refused comment comes back prefilled with the reason, instead of being lost."""
    comment = _comment_in(pk, comment_pk) if comment_pk is not None else None
    try:
        parent = None if comment else writes.parent_of(request.POST)
    except ValidationError:
        parent = None
    return render(request, "debates/comment_form_page.html", {
        "debate": comment.debate if comment else get_object_or_404(Debate, pk=pk), "parent": parent,
        "comment": comment, "error": actions.message_of(exc), "invalid": actions.kind_of(exc) == "invalid",
        "form_id": _comment_form_id(request, pk, comment_pk),
        "body": request.POST.get("body", ""), "alignment": request.POST.get("alignment", "0"),
        "client_id": request.POST.get("client_id", "")[:40] or new_client_id(),
        "max_length": settings.DEBATES_COMMENT_MAX_LENGTH,
    })


def _write(write, request, **ids):
    """Run the shared write (debates.writes) with the posted fields and the URL's ids (which win over the form's);
    an id that names nothing, or a comment of another debate, is a 404 as for every page."""
    data = request.POST.copy()
    for name, value in ids.items():
        data[name] = str(value)
    try:
        return write(Actor.from_request(request), data)
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None


@require_POST
@login_required
@actions.action(slot=_comment_slot, page=_refused_comment_page)
def comment_create(request, pk):
    comment = _write(writes.post_comment, request, debate=pk)
    if request.htmx:
        return HttpResponse(status=204)
    if comment.parent_id:
        return redirect(comment.get_absolute_url() + f"#comment-{comment.pk}")
    return redirect(f"{comment.debate.get_absolute_url()}?sort=recent#comment-{comment.pk}")


@require_GET
def comment_detail(request, pk, comment_pk):
    """A comment's thread on a page of its own: the permalink, and the no-JS "show more replies"."""
    cursor = _debate_cursor(pk)
    comment = _comment_in(pk, comment_pk)
    debate = comment.debate
    root = Comment.objects.select_related("author", "hidden_by").get(pk=comment.thread_root_id)
    selectors.attach_replies([root], all_direct=True)
    # The focused reply is always shown, with all its replies: unfold the reply that holds it.
    holder = comment.parent_id if comment.depth == 2 else comment.pk
    for child in root.children:
        if child.pk == holder and child.more_replies:
            selectors.attach_replies([child], all_direct=True)
    selectors.apply_votes(request.user, [root])
    return render(request, "debates/comment_detail.html", {
        "debate": debate, "root": root, "focus": comment, "cursor": cursor,
        "refusal": permissions.comment_refusal(request.user, debate), **_viewer_context(request, debate),
    })


@require_GET
def comment_replies(request, pk, comment_pk):
    comment = _comment_in(pk, comment_pk)
    if not request.htmx:
        return redirect(comment.get_absolute_url())
    comment = Comment.objects.select_related("author", "hidden_by").get(pk=comment.pk)
    selectors.attach_replies([comment], all_direct=True)
    selectors.apply_votes(request.user, [comment])
    return render(request, "debates/comment_replies.html", {
        "comment": comment, "debate": comment.debate, **_viewer_context(request, comment.debate)})


def new_client_id() -> str:
    """The idempotency key a comment form carries (a retried post returns the comment already created)."""
    return secrets.token_urlsafe(12)


def _panel(request, comment, panel, form_id):
    return render(request, "debates/comment_panel.html", {
        "comment": comment, "panel": panel, "form_id": form_id, "max_length": settings.DEBATES_COMMENT_MAX_LENGTH,
        "client_id": new_client_id(), **selectors.moderation_urls()})


@require_GET
@login_required
def comment_reply(request, pk, comment_pk):
    """The reply form: under the comment with htmx, on its own page without JavaScript."""
    comment = _comment_in(pk, comment_pk)
    form_id = f"reply-form-{comment.pk}"
    refusal = permissions.comment_refusal(request.user, comment.debate) or services.reply_refusal(comment)
    if request.htmx:
        if refusal:  # in the comment's panel, where the form would have opened
            return render(request, "live/flash.html", {"message": refusal, "level": "error", "kind": "forbidden"})
        return _panel(request, comment, "reply", form_id)
    return render(request, "debates/comment_form_page.html", {
        "debate": comment.debate, "parent": comment, "form_id": form_id, "error": refusal, "body": "",
        "client_id": new_client_id(),
        "max_length": settings.DEBATES_COMMENT_MAX_LENGTH})


@require_GET
@login_required
def comment_report(request, pk, comment_pk):
    comment = _comment_in(pk, comment_pk)
    if request.htmx:
        return _panel(request, comment, "report", "")
    return render(request, "debates/comment_report_page.html", {"debate": comment.debate, "comment": comment,
                                                                **selectors.moderation_urls()})


@login_required
@actions.action(slot=_comment_slot, page=_refused_comment_page)
def comment_edit(request, pk, comment_pk):
    if request.method == "POST":
        comment = _write(writes.edit_comment, request, debate=pk, comment=comment_pk)
        if request.htmx:
            return HttpResponse(status=204)
        return redirect(comment.get_absolute_url() + f"#comment-{comment.pk}")
    comment = _comment_in(pk, comment_pk)
    services.ensure_can_edit_comment(request.user, comment)
    form_id = f"edit-form-{comment.pk}"
    if request.htmx:
        return _panel(request, comment, "edit", form_id)
    return render(request, "debates/comment_form_page.html", {
        "debate": comment.debate, "comment": comment, "form_id": form_id, "body": comment.body,
        "alignment": str(comment.alignment), "max_length": settings.DEBATES_COMMENT_MAX_LENGTH})


def _comment_url(request, pk, comment_pk) -> str:
    return _comment_in(pk, comment_pk).get_absolute_url() + f"#comment-{comment_pk}"


@require_POST
@login_required
@actions.action(slot="comment-{comment_pk}-errors", back=_comment_url)
def comment_delete(request, pk, comment_pk):
    comment = _comment_in(pk, comment_pk)
    services.delete_comment(comment=comment, actor=request.user)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect(comment.get_absolute_url() + f"#comment-{comment.pk}")


@require_POST
@login_required
@actions.action(slot="comment-{comment_pk}-errors", back=_comment_url)
def comment_vote(request, pk, comment_pk):
    comment, value = _write(writes.vote, request, debate=pk, comment=comment_pk)
    if request.htmx:
        # The score reaches every page through the push; the voter's pressed button is theirs alone.
        comment.my_vote = value
        return HttpResponse(render_to_string("debates/comment_vote.html", {
            "comment": comment, "debate": comment.debate, **selectors.moderation_urls()}, request=request))
    next_url = actions.safe_next(request, request.POST.get("next"))  # "/\\evil.example" is not ours
    if next_url:
        return redirect(next_url + f"#comment-{comment.pk}")
    return redirect(comment.get_absolute_url() + f"#comment-{comment.pk}")
