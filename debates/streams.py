"""The `debate.<pk>` stream: who may follow it, typing and presence frames (its events render in renderers.py).

Audiences: "moderators" (global moderators, administrators and this debate's moderators: hidden comments stay
visible to them, marked, with their controls) and "public" (everyone else, signed in or not; sign-in-dependent
controls are switched by CSS on the page's body class, own-content controls by the per-user CSS rule)."""

from __future__ import annotations

import time

from django.core.exceptions import ObjectDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from debates import permissions, presence, selectors
from debates.models import LIST_STREAM, Comment, Debate
from live import streams, variants


def _debate(rest: str) -> Debate:
    try:
        return Debate.objects.get(pk=int(rest))
    except (ValueError, TypeError):
        raise ObjectDoesNotExist(rest) from None


def authorize(viewer, rest: str) -> str:
    debate = _debate(rest)  # debates are public: only existence is checked
    return "moderators" if permissions.is_moderator(viewer.user, debate) else "public"


def presence_html(debate_id: int, count: int, *, oob: bool) -> str:
    texts = streams.in_languages(lambda: translation.ngettext(
        "%(counter)s person is reading", "%(counter)s people are reading", count) % {"counter": count})
    return render_to_string("debates/presence.html", {"readers": count, "oob": oob, "texts": texts})


def typing(viewer, rest: str, data: dict):
    """Presence heartbeats ({presence: tab_id, leaving?}) and "X is writing…" ({comment: pk}), both best effort."""
    debate = _debate(rest)
    if "presence" in data:
        # An anonymous socket counts once: the first tab id it sends is its identity for good (a client cycling
        # through made-up ids cannot inflate the count).
        tabs = viewer.socket_state.setdefault("debate_tabs", {})
        tab = tabs.setdefault(debate.pk, str(data.get("presence") or "")[:32])
        member = presence.member_for(viewer.user, tab)
        if member is None:
            return None
        count = presence.touch(debate.pk, member, leaving=bool(data.get("leaving")))
        if presence.changed(debate.pk, count):
            streams.broadcast(debate.stream_key, presence_html(debate.pk, count, oob=True))
            streams.broadcast(LIST_STREAM, list_readers_html(debate.pk, count))
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
    texts = streams.in_languages(lambda: _("%(name)s is writing…") % {"name": user.nickname})
    html = render_to_string("debates/typing.html", {"comment_id": comment_id, "typist": user, "texts": texts,
                                                    "at": int(time.time())})
    streams.broadcast(debate.stream_key, html)
    return None


streams.register_stream("debate", authorize=authorize, typing=typing)


# --- the debate list (`debates.all`): public; its logged events render in renderers.py -----------------------------

def list_readers_html(debate_id: int, count: int) -> str:
    texts = streams.in_languages(lambda: translation.ngettext(
        "%(counter)s person is reading", "%(counter)s people are reading", count) % {"counter": count})
    return render_to_string("debates/list_readers.html", {"debate_id": debate_id, "readers": count, "texts": texts,
                                                          "oob": True})


def comment_count_changed(debate_id: int) -> None:
    """A comment posted, deleted or removed: the list's count, as an ephemeral frame (a logged event per comment
    would make every comment of every debate wait on the list's one counter row). Only while some socket follows
    the list (live/variants.py; when unknown, always): a frame nobody receives is not worth its count and its
    publish, and a page opened later shows the count it reads."""
    if variants.wanted(LIST_STREAM) == set():
        return
    count = selectors.comment_count(debate_id)
    if count is None:
        return
    texts = streams.in_languages(lambda: translation.ngettext(
        "%(counter)s comment", "%(counter)s comments", count) % {"counter": count})
    streams.broadcast(LIST_STREAM, render_to_string("debates/list_comment_count.html", {
        "debate_id": debate_id, "texts": texts}))


def authorize_list(viewer, rest: str) -> str:
    if rest != "all":
        raise ObjectDoesNotExist(rest)
    return "public"


streams.register_stream("debates", authorize=authorize_list)
