"""The `debate.<pk>` stream: who may follow it, typing and presence frames, and how each event renders.

Audiences: "moderators" (global moderators, administrators and this debate's moderators: hidden comments stay
visible to them, marked, with their controls) and "public" (everyone else, signed in or not; sign-in-dependent
controls are switched by CSS on the page's body class, own-content controls by the per-user CSS rule)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from debates import permissions, presence, selectors
from debates.models import Comment, Debate
from live import streams

AUDIENCES = ("public", "moderators")


def _debate(rest: str) -> Debate:
    try:
        return Debate.objects.get(pk=int(rest))
    except (ValueError, TypeError):
        raise ObjectDoesNotExist(rest) from None


def authorize(viewer, rest: str) -> str:
    debate = _debate(rest)  # debates are public: only existence is checked
    return "moderators" if permissions.is_moderator(viewer.user, debate) else "public"


def bilingual(render) -> str:
    """Ephemeral pushes (streams.broadcast) carry the same bytes for every language: carry both, the page's CSS
    shows the one matching <html lang>."""
    parts = []
    for lang in streams.languages():
        with translation.override(lang):
            parts.append(f'<span class="i18n i18n-{lang}" lang="{lang}">{render()}</span>')
    return "".join(parts)


def presence_html(debate_id: int, count: int, *, oob: bool) -> str:
    def render():
        return escape(translation.ngettext("%(counter)s person is reading", "%(counter)s people are reading",
                                           count) % {"counter": count})

    swap = ' hx-swap-oob="true"' if oob else ""
    return (f'<p id="debate-presence" class="presence muted" data-count="{count}"{swap}>'
            f'<span class="presence-dot" aria-hidden="true"></span>{bilingual(render)}</p>')


def typing(viewer, rest: str, data: dict):
    """Presence heartbeats ({presence: tab_id, leaving?}) and "X is writing…" ({comment: pk}), both best effort."""
    debate = _debate(rest)
    if "presence" in data:
        # An anonymous socket counts once: the first tab id it sends is its identity for good (a client cycling
        # through made-up ids cannot inflate the count).
        tabs = viewer.__dict__.setdefault("debate_tabs", {})
        tab = tabs.setdefault(debate.pk, str(data.get("presence") or "")[:32])
        member = presence.member_for(viewer.user, tab)
        if member is None:
            return None
        count = presence.touch(debate.pk, member, leaving=bool(data.get("leaving")))
        if presence.changed(debate.pk, count):
            streams.broadcast(debate.stream_key, presence_html(debate.pk, count, oob=True))
        return None
    user = viewer.user
    if not permissions.can_comment(user, debate):
        return None
    try:
        comment_id = int(data.get("comment"))
    except (TypeError, ValueError):
        return None
    if not Comment.objects.filter(pk=comment_id, debate=debate, depth__lt=Comment.MAX_DEPTH).exists():
        return None
    name = escape(user.nickname)
    html = (f'<div id="typing-{comment_id}" class="typing-indicator" hx-swap-oob="true" data-author="{user.pk}" '
            f'data-typing-at="{int(time.time())}"><span class="others-only">'
            + bilingual(lambda: escape(_("%(name)s is writing…") % {"name": name}))
            + "</span></div>")
    streams.broadcast(debate.stream_key, html)
    return None


streams.register_stream("debate", authorize=authorize, typing=typing)


# --- renderers ---------------------------------------------------------------------------------------------------

def _memo(event, name, compute):
    """An event renders once per language: read the database once for all of them."""
    cache = event.__dict__.setdefault("_debates_memo", {})
    if name not in cache:
        cache[name] = compute()
    return cache[name]


def _comment(event) -> Comment | None:
    return _memo(event, "comment", lambda: Comment.objects.select_related(
        "author", "hidden_by", "debate", "debate__author").filter(pk=event.data.get("comment")).first())


def _tallies(event, debate) -> dict:
    return _memo(event, "tallies", lambda: selectors.tallies(debate))


def _per_audience(template: str, context: dict) -> dict[str, str]:
    from debates.views import moderation_urls

    context = {**context, **moderation_urls()}
    # "NOTPROVIDED": the forms in pushed bytes carry no per-user CSRF token (htmx sends it as a header).
    return {audience: render_to_string(template, {**context, "audience": audience, "csrf_token": "NOTPROVIDED",
                                                  "max_length": settings.DEBATES_COMMENT_MAX_LENGTH,
                                                  "moderator_view": audience == "moderators"})
            for audience in AUDIENCES if streams.rendering_for(audience)}


def _announce(text: str) -> str:
    return (f'<div id="live-announcer" hx-swap-oob="true" class="visually-hidden" aria-live="polite" '
            f'aria-atomic="true">{escape(text)}</div>')


@streams.renderer("comment.posted")
def render_posted(event):
    comment = _comment(event)
    if comment is None:
        return None
    comment.children, comment.more_replies, comment.my_vote = [], 0, 0
    debate = comment.debate
    if comment.parent_id:
        announce = _("New reply by %(name)s") % {"name": comment.author.public_name}
    else:
        announce = _("New comment by %(name)s") % {"name": comment.author.public_name}
    return _per_audience("debates/push/comment_posted.html", {
        "comment": comment, "debate": debate, "tallies": _tallies(event, debate),
        "announce": _announce(announce)})


def _render_main(event, announce=""):
    comment = _comment(event)
    if comment is None:
        return None
    comment.my_vote = 0
    return _per_audience("debates/push/comment_changed.html", {
        "comment": comment, "debate": comment.debate, "tallies": _tallies(event, comment.debate),
        "announce": _announce(announce) if announce else ""})


@streams.renderer("comment.edited")
def render_edited(event):
    return _render_main(event)


@streams.renderer("comment.deleted")
def render_deleted(event):
    return _render_main(event)


@streams.renderer("comment.hidden")
def render_hidden(event):
    return _render_main(event, _("A comment was hidden by moderation."))


@streams.renderer("comment.unhidden")
def render_unhidden(event):
    return _render_main(event)


@streams.renderer("comment.removed")
def render_removed(event):
    debate = Debate(pk=int(event.stream.split(".")[1]))
    parent = None
    if event.data.get("rank", 0) > settings.DEBATES_REPLIES_SHOWN:
        # It was folded under its parent's "show N more replies": that count goes down (the link, at zero).
        parent = _memo(event, "parent", lambda: Comment.objects.filter(pk=event.data["parent"]).first())
        if parent is not None:
            parent.more_replies = max(parent.reply_count - settings.DEBATES_REPLIES_SHOWN, 0)
    return render_to_string("debates/push/comment_removed.html", {
        "pk": event.data.get("comment"), "parent": parent, "debate": debate, "tallies": _tallies(event, debate),
        "announce": _announce(_("A comment was removed by an administrator."))})


@streams.renderer("comment.voted")
def render_voted(event):
    comment = _comment(event)
    if comment is None:
        return None
    return render_to_string("debates/comment_score.html", {"comment": comment, "oob": True})


def _render_debate(event, announce="", *, state_changed=True):
    debate = Debate.objects.select_related("author", "closed_by").filter(pk=int(event.stream.split(".")[1])).first()
    if debate is None:
        return None
    # The same for every audience: rendered once per language.
    return render_to_string("debates/push/debate_changed.html", {
        "debate": debate, "updates": list(debate.updates.select_related("author")[:20]),
        "announce": _announce(announce) if announce else "", "csrf_token": "NOTPROVIDED",
        # The comment form is replaced only when the state changes, never under someone's draft for an edit.
        "state_changed": state_changed,
        "max_length": settings.DEBATES_COMMENT_MAX_LENGTH})


@streams.renderer("debate.edited")
def render_debate_edited(event):
    return _render_debate(event, state_changed=False)


@streams.renderer("debate.update_posted")
def render_update_posted(event):
    return _render_debate(event, _("The debate has a new information update."), state_changed=False)


@streams.renderer("debate.closed")
def render_closed(event):
    return _render_debate(event, _("The debate is closed. Its conclusions are published."))


@streams.renderer("debate.reopened")
def render_reopened(event):
    return _render_debate(event, _("The debate is open again."))


@streams.renderer("debate.locked")
def render_locked(event):
    return _render_debate(event, _("Comments are locked by a moderator."))


@streams.renderer("debate.unlocked")
def render_unlocked(event):
    return _render_debate(event, _("Comments are open again."))


@streams.renderer("debate.created")
def render_created(event):
    return None
