"""Thin views: parse the request, call a service, answer. Every write works as a plain form POST (redirect after
success, the form again with its error otherwise) and with htmx (204: the stream push updates every page, the
poster's included; errors go into the form's error slot)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from debates import permissions, presence, selectors, services
from debates.forms import CloseForm, DebateForm
from debates.models import Comment, Debate, Stance
from live import streams
from live.ratelimit import RateLimited


def _message(exc) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, RateLimited):
        return exc.message
    return str(exc) or _("You are not allowed to do this.")


def _status(exc) -> int:
    return 429 if isinstance(exc, RateLimited) else 403 if isinstance(exc, PermissionDenied) else 400


def _htmx_error(exc, target: str) -> HttpResponse:
    """htmx does not swap 4xx answers: send 200 and retarget the form's error slot."""
    response = HttpResponse(f'<span class="flash-error">{escape(_message(exc))}</span>')
    response["HX-Retarget"] = f"#{target}"
    response["HX-Reswap"] = "innerHTML"
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


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
    paginator = Paginator(selectors.debate_list(state=state, q=q), 20)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "debates/debate_list.html", {
        "page": page, "debates": page.object_list, "state": state, "q": q,
        "can_create": permissions.can_create_debate(request.user),
    })


def _debate_form_values(form):
    data = form.cleaned_data
    return dict(title=data["title"], description=data["description"], instructions=data.get("instructions", ""),
                starts_at=data.get("starts_at"), ends_at=data.get("ends_at"))


@login_required
def debate_create(request):
    if not permissions.can_create_debate(request.user):
        raise PermissionDenied(_("Only facilitators can open a debate."))
    form = DebateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            debate = services.create_debate(author=request.user, **_debate_form_values(form))
        except (ValidationError, PermissionDenied, RateLimited) as exc:
            form.add_error(None, _message(exc))
        else:
            messages.success(request, _("Your debate is open."))
            return redirect(debate)
    return render(request, "debates/debate_form.html", {"form": form, "debate": None},
                  status=400 if form.errors else 200)


@login_required
def debate_edit(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    if not permissions.can_edit_debate(request.user, debate):
        raise PermissionDenied(_("Only the author or a facilitator can edit this debate."))
    initial = {"title": debate.title, "description": debate.description, "instructions": debate.instructions,
               "starts_at": debate.starts_at, "ends_at": debate.ends_at}
    form = DebateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.edit_debate(debate=debate, actor=request.user, **_debate_form_values(form))
        except (ValidationError, PermissionDenied, RateLimited) as exc:
            form.add_error(None, _message(exc))
        else:
            messages.success(request, _("The debate is updated."))
            return redirect(debate)
    return render(request, "debates/debate_form.html", {"form": form, "debate": debate},
                  status=400 if form.errors else 200)


@login_required
def debate_close(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    if not permissions.can_close_debate(request.user, debate):
        raise PermissionDenied(_("Only the author, a facilitator or a moderator can close this debate."))
    form = CloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.close_debate(debate=debate, actor=request.user, conclusions=form.cleaned_data["conclusions"])
        except (ValidationError, PermissionDenied, RateLimited) as exc:
            form.add_error(None, _message(exc))
        else:
            messages.success(request, _("The debate is closed and its conclusions are published."))
            return redirect(debate)
    return render(request, "debates/debate_close.html", {"form": form, "debate": debate},
                  status=400 if form.errors else 200)


def _back(request, debate, fragment=""):
    if request.htmx:
        return HttpResponse(status=204)
    return redirect(debate.get_absolute_url() + fragment)


@require_POST
@login_required
def debate_reopen(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    try:
        services.reopen_debate(debate=debate, actor=request.user)
    except (ValidationError, PermissionDenied, RateLimited) as exc:
        if request.htmx:
            return _htmx_error(exc, "debate-actions-errors")
        messages.error(request, _message(exc))
    return _back(request, debate)


@require_POST
@login_required
def debate_lock(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    try:
        # Through moderation: checked, logged in the moderation journal, then debates.services.lock_comments.
        from live.moderation import services as moderation

        moderation.set_lock(actor=request.user, space=debate.space, locked=request.POST.get("locked") == "1",
                            reason=request.POST.get("reason", ""))
    except (ValidationError, PermissionDenied, RateLimited) as exc:
        if request.htmx:
            return _htmx_error(exc, "debate-actions-errors")
        messages.error(request, _message(exc))
    return _back(request, debate)


@require_POST
@login_required
def debate_post_update(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    try:
        services.post_update(debate=debate, actor=request.user, body=request.POST.get("body", ""))
    except (ValidationError, PermissionDenied, RateLimited) as exc:
        if request.htmx:
            return _htmx_error(exc, "update-form-errors")
        messages.error(request, _message(exc))
    return _back(request, debate, "#debate-updates")


def moderation_urls() -> dict:
    """The moderation app's report and act endpoints (empty when it is not installed), resolved once per page."""
    urls = {}
    for name in ("report", "act"):
        try:
            urls[f"{name}_url"] = reverse(f"moderation:{name}")
        except NoReverseMatch:
            urls[f"{name}_url"] = ""
    return urls


def _viewer_context(request, debate) -> dict:
    moderator_view = permissions.is_moderator(request.user, debate)
    return {"moderator_view": moderator_view, "audience": "moderators" if moderator_view else "public",
            "max_length": settings.DEBATES_COMMENT_MAX_LENGTH, "max_depth": Comment.MAX_DEPTH, **moderation_urls()}


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


@require_GET
def debate_detail(request, pk):
    # The cursor first: whatever commits after it is replayed onto the page and merely re-applied.
    cursor = streams.cursor(f"debate.{pk}")
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


def _comment_form_page(request, debate, *, error, form_id, parent=None, comment=None, status=400):
    """Without JavaScript a refused comment comes back prefilled with the reason, instead of being lost."""
    return render(request, "debates/comment_form_page.html", {
        "debate": debate, "parent": parent, "comment": comment, "error": error, "form_id": form_id,
        "body": request.POST.get("body", ""), "alignment": request.POST.get("alignment", "0"),
        "client_id": request.POST.get("client_id", "")[:40] or new_client_id(),
        "max_length": settings.DEBATES_COMMENT_MAX_LENGTH,
    }, status=status)


@require_POST
@login_required
def comment_create(request, pk):
    debate = get_object_or_404(Debate, pk=pk)
    parent = None
    parent_id = request.POST.get("parent") or ""
    form_id = f"reply-form-{parent_id}" if parent_id else "comment-form"
    try:
        if parent_id:
            try:
                parent = Comment.objects.select_related("author").get(pk=int(parent_id))
            except (ValueError, Comment.DoesNotExist):
                raise ValidationError(_("The comment you reply to does not exist.")) from None
        comment = services.post_comment(author=request.user, debate=debate, body=request.POST.get("body", ""),
                                        parent=parent, alignment=request.POST.get("alignment") or Stance.NEUTRAL,
                                        client_id=request.POST.get("client_id", ""))
    except (ValidationError, PermissionDenied, RateLimited) as exc:
        if request.htmx:
            return _htmx_error(exc, f"{form_id}-errors")
        return _comment_form_page(request, debate, error=_message(exc), form_id=form_id, parent=parent,
                                  status=_status(exc))
    if request.htmx:
        return HttpResponse(status=204)
    if comment.parent_id:
        return redirect(comment.get_absolute_url() + f"#comment-{comment.pk}")
    return redirect(f"{debate.get_absolute_url()}?sort=recent#comment-{comment.pk}")


@require_GET
def comment_detail(request, pk, comment_pk):
    """A comment's thread on a page of its own: the permalink, and the no-JS "show more replies"."""
    cursor = streams.cursor(f"debate.{pk}")
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
        "client_id": new_client_id(), **moderation_urls()})


@require_GET
@login_required
def comment_reply(request, pk, comment_pk):
    """The reply form: under the comment with htmx, on its own page without JavaScript."""
    comment = _comment_in(pk, comment_pk)
    form_id = f"reply-form-{comment.pk}"
    refusal = permissions.comment_refusal(request.user, comment.debate)
    if not refusal and (comment.is_deleted or comment.is_hidden):
        refusal = _("This comment is no longer available: you cannot reply to it.")
    if not refusal and comment.depth >= Comment.MAX_DEPTH:
        refusal = _("Replies can only go %(levels)s levels deep: reply to the comment above instead.") % {
            "levels": Comment.MAX_DEPTH + 1}
    if request.htmx:
        if refusal:
            return HttpResponse(f'<p class="flash-error" role="alert">{escape(refusal)}</p>')
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
                                                                **moderation_urls()})


@login_required
def comment_edit(request, pk, comment_pk):
    comment = _comment_in(pk, comment_pk)
    debate = comment.debate
    form_id = f"edit-form-{comment.pk}"
    if not permissions.can_edit_comment(request.user, comment):
        raise PermissionDenied(_("You can only edit your own comments."))
    if request.method == "POST":
        try:
            services.edit_comment(comment=comment, actor=request.user, body=request.POST.get("body", ""),
                                  alignment=request.POST.get("alignment"))
        except (ValidationError, PermissionDenied, RateLimited) as exc:
            if request.htmx:
                return _htmx_error(exc, f"{form_id}-errors")
            return _comment_form_page(request, debate, error=_message(exc), form_id=form_id, comment=comment,
                                      status=_status(exc))
        if request.htmx:
            return HttpResponse(status=204)
        return redirect(comment.get_absolute_url() + f"#comment-{comment.pk}")
    if request.htmx:
        return _panel(request, comment, "edit", form_id)
    return render(request, "debates/comment_form_page.html", {
        "debate": debate, "comment": comment, "form_id": form_id, "body": comment.body,
        "alignment": str(comment.alignment), "max_length": settings.DEBATES_COMMENT_MAX_LENGTH})


@require_POST
@login_required
def comment_delete(request, pk, comment_pk):
    comment = _comment_in(pk, comment_pk)
    try:
        services.delete_comment(comment=comment, actor=request.user)
    except (ValidationError, PermissionDenied, RateLimited) as exc:
        if request.htmx:
            return _htmx_error(exc, f"comment-{comment.pk}-errors")
        messages.error(request, _message(exc))
    if request.htmx:
        return HttpResponse(status=204)
    return redirect(comment.get_absolute_url() + f"#comment-{comment.pk}")


@require_POST
@login_required
def comment_vote(request, pk, comment_pk):
    comment = _comment_in(pk, comment_pk)
    value = {"up": 1, "down": -1, "none": 0}.get(request.POST.get("value", ""), None)
    try:
        if value is None:
            raise ValidationError(_("A vote is up, down or none."))
        comment = services.vote(comment=comment, user=request.user, value=value)
    except (ValidationError, PermissionDenied, RateLimited) as exc:
        if request.htmx:
            return _htmx_error(exc, f"comment-{comment.pk}-errors")
        messages.error(request, _message(exc))
        return redirect(comment.get_absolute_url() + f"#comment-{comment.pk}")
    if request.htmx:
        # The score reaches every page through the push; the voter's pressed button is theirs alone.
        comment.my_vote = value
        return HttpResponse(render_to_string("debates/comment_vote.html", {
            "comment": comment, "debate": comment.debate, **moderation_urls()}, request=request))
    next_url = request.POST.get("next", "")
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url + f"#comment-{comment.pk}")
    return redirect(comment.get_absolute_url() + f"#comment-{comment.pk}")
