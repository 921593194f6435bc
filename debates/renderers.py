"""How the events of a `debate.<pk>` stream render, for its two audiences (debates/streams.py): "public" and
"moderators" (hidden comments stay visible to them, marked, with their controls). Both render the same HTML from
the same reads; only the moderator view differs. A comment's HTML is built by comment_html.py, as the page's."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from debates import comment_html, selectors
from debates.models import Comment, Debate
from live import streams

AUDIENCES = ("public", "moderators")


def _comment(event, r) -> Comment | None:
    return r.once("comment", lambda: Comment.objects.select_related(
        "author", "hidden_by", "debate", "debate__author").filter(pk=event.data.get("comment")).first())


def _tallies(r, debate) -> dict:
    return r.once("tallies", lambda: selectors.tallies(debate))


def _around(r) -> comment_html.Around:
    # "NOTPROVIDED": the forms in pushed bytes carry no per-user CSRF token (htmx sends it as a header).
    return comment_html.Around(csrf_token="NOTPROVIDED", moderator_view=r.audience == "moderators",
                               **r.once("moderation_urls", selectors.moderation_urls))


def _after_comment(r, debate, announce) -> str:
    """The tallies and the screen readers' announcement that follow a comment's HTML."""
    tallies = comment_html.tallies_html(_tallies(r, debate), oob=True)
    return f"\n  {tallies}\n  \n{streams.announcement(announce) if announce else ''}\n"


@streams.renderer("comment.posted", audience=AUDIENCES)
def render_posted(event, r):
    comment = _comment(event, r)
    if comment is None:
        return None
    comment.children, comment.more_replies, comment.my_vote = [], 0, 0
    if comment.parent_id:
        announce = _("New reply by %(name)s") % {"name": comment.author.public_name}
        where = f"#replies-{comment.parent_id}"
    else:
        announce = _("New comment by %(name)s") % {"name": comment.author.public_name}
        where = "#new-comments"
    thread = comment_html.thread_html(comment, _around(r))
    return f'<div hx-swap-oob="beforeend:{where}">{thread}\n</div>\n{_after_comment(r, comment.debate, announce)}'


def _render_main(event, r, announce=""):
    comment = _comment(event, r)
    if comment is None:
        return None
    comment.my_vote = 0
    return f"{comment_html.main_html(comment, _around(r), oob=True)}\n\n{_after_comment(r, comment.debate, announce)}"


@streams.renderer("comment.edited", audience=AUDIENCES)
@streams.renderer("comment.deleted", audience=AUDIENCES)
@streams.renderer("comment.unhidden", audience=AUDIENCES)
@streams.renderer("comment.erased", audience=AUDIENCES)  # no longer emitted: for older events still in the log
def render_changed(event, r):
    return _render_main(event, r)


@streams.renderer("comments.author_erased")
def render_author_erased_comments(event, r):
    """Every comment of an erased account on the page at once, by its author (data-author): the name, initials
    and text of each become the placeholders, whatever their number (one event per debate)."""
    return render_to_string("debates/push/comments_erased.html", {"author": int(event.data["author"])})


@streams.renderer("comment.hidden", audience=AUDIENCES)
def render_hidden(event, r):
    return _render_main(event, r, _("A comment was hidden by moderation."))


@streams.renderer("comment.removed")
def render_removed(event, r):
    debate = Debate(pk=int(event.stream.split(".")[1]))
    parent = None
    if event.data.get("rank", 0) > settings.DEBATES_REPLIES_SHOWN:
        # It was folded under its parent's "show N more replies": that count goes down (the link, at zero).
        parent = r.once("parent", lambda: Comment.objects.filter(pk=event.data["parent"]).first())
        if parent is not None:
            parent.more_replies = max(parent.reply_count - settings.DEBATES_REPLIES_SHOWN, 0)
    removed = event.data.get("comment")
    # The removed comment, then the replies that went with it (an int: an older event of the log, without them). Its
    # article holds theirs: deleting it is enough.
    pk = removed[0] if isinstance(removed, list) else removed
    return render_to_string("debates/push/comment_removed.html", {
        "pk": pk, "parent": parent, "debate": debate, "tallies": _tallies(r, debate),
        "announce": _("A comment was removed by an administrator.")})


@streams.renderer("comment.voted")
def render_voted(event, r):
    comment = _comment(event, r)
    if comment is None:
        return None
    return comment_html.score_html(comment, oob=True) + "\n"


def _render_debate(event, r, announce="", *, state_changed=True):
    def read():
        debate = Debate.objects.select_related("author", "closed_by").filter(
            pk=int(event.stream.split(".")[1])).first()
        return debate, (list(debate.updates.select_related("author")[:20]) if debate else [])

    debate, updates = r.once("debate", read)
    if debate is None:
        return None
    # The same for every audience: rendered once per language.
    return render_to_string("debates/push/debate_changed.html", {
        "debate": debate, "updates": updates, "announce": announce, "csrf_token": "NOTPROVIDED",
        # The comment form is replaced only when the state changes, never under someone's draft for an edit.
        "state_changed": state_changed,
        "max_length": settings.DEBATES_COMMENT_MAX_LENGTH})


@streams.renderer("debate.edited")
def render_debate_edited(event, r):
    return _render_debate(event, r, state_changed=False)


@streams.renderer("debate.author_erased")
def render_author_erased(event, r):
    return _render_debate(event, r, state_changed=False)


@streams.renderer("debate.update_posted")
def render_update_posted(event, r):
    return _render_debate(event, r, _("The debate has a new information update."), state_changed=False)


@streams.renderer("debate.closed")
def render_closed(event, r):
    return _render_debate(event, r, _("The debate is closed. Its conclusions are published."))


@streams.renderer("debate.reopened")
def render_reopened(event, r):
    return _render_debate(event, r, _("The debate is open again."))


@streams.renderer("debate.locked")
def render_locked(event, r):
    return _render_debate(event, r, _("Comments are locked by a moderator."))


@streams.renderer("debate.unlocked")
def render_unlocked(event, r):
    return _render_debate(event, r, _("Comments are open again."))


@streams.renderer("debate.created")
def render_created(event, r):
    return None


# --- the debate list (`debates.all`) ---------------------------------------------------------------------------------
# The list's comment counts and readers come as ephemeral frames (debates/streams.py); these are its logged events.

def _list_item(event, r):
    return r.once("list_item", lambda: selectors.list_item(event.data["debate"]))


@streams.renderer("list.debate_created")
def render_list_created(event, r):
    """A new debate lands in the list's hidden #new-debates box: debate_list.js shows it at once when the top of
    the list is in view, else behind the "N new debates" button (nothing moves under the reader)."""
    debate = _list_item(event, r)
    if debate is None:
        return None
    return render_to_string("debates/push/list_created.html", {
        "debate": debate, "announce": _("New debate: %(title)s") % {"title": debate.title}})


@streams.renderer("list.debate_changed")
def render_list_changed(event, r):
    """Its state (closed, reopened, locked), title or counts, in place (same size: nothing jumps)."""
    debate = _list_item(event, r)
    if debate is None:
        return None
    announce = (_("The debate “%(title)s” is closed.") % {"title": debate.title}
                if event.data.get("closed") else "")
    return render_to_string("debates/push/list_changed.html", {"debate": debate, "announce": announce})
