"""The debate writes as their forms send them: parse the form's fields, call the service. One function per write,
called by the HTTP view (plain form or htmx) and by the socket action (live.socket_writes) alike, so neither copies
the other's parsing or checks; permissions and rate limits stay in debates.services.

Each takes the writer (`actor.user`) and `data`, the form's fields (a QueryDict, or the JSON object of a socket's
`write` frame). The ids a URL carries for the HTTP view (the debate, the comment) are fields of the form for the
socket: the views put the URL's ids into `data` (the URL wins over a field of the same name).

A refusal is the service's exception (ValidationError, PermissionDenied, RateLimited), or ObjectDoesNotExist when
an id names nothing (or a comment of another debate than the one named)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from debates import services
from debates.models import Comment, Debate, Stance
from live.socket_writes import parse_id, socket_write

VOTE_VALUES = {"up": 1, "down": -1, "none": 0}


def _text(data, name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _comment_in(data) -> Comment:
    """The comment the form names, in the debate it names when it names one (the HTTP view's URL does: a comment of
    another debate is not found there). The vote and edit services read the comment again, locked, from its id
    alone: without a debate to check it against, the id is all they are given (a missing one is not found there)."""
    pk = parse_id(data.get("comment"))
    if pk is None:
        raise Comment.DoesNotExist(_("No such comment in this debate."))
    if data.get("debate") is None:
        return Comment(pk=pk)
    comment = Comment.objects.select_related("debate", "author").filter(pk=pk).first()
    if comment is None or comment.debate_id != parse_id(data.get("debate")):
        raise Comment.DoesNotExist(_("No such comment in this debate."))
    return comment


def parent_of(data) -> Comment | None:
    """The comment a reply answers (None for a root comment)."""
    if not data.get("parent"):
        return None
    pk = parse_id(data.get("parent"))
    parent = Comment.objects.select_related("author", "debate").filter(pk=pk).first() if pk else None
    if parent is None:
        raise ValidationError(_("The comment you reply to does not exist."), code="parent")
    return parent


def post_comment(actor, data) -> Comment:
    """A root comment with its stance (`body`, `alignment`) or a reply (`parent`), in debate `debate`; `client_id`
    makes a retried post return the comment it already created."""
    debate_id = parse_id(data.get("debate"))
    parent = parent_of(data)
    # A reply's debate comes with its parent (the service refuses a parent from another debate). Otherwise the
    # service's shared-lock read of the debate is the only read of it (a missing one: Debate.DoesNotExist there).
    if parent is not None and parent.debate_id == debate_id:
        debate = parent.debate
    elif debate_id is not None:
        debate = Debate(pk=debate_id)
    else:
        raise Debate.DoesNotExist(_("No such debate."))
    return services.post_comment(author=actor.user, debate=debate, body=_text(data, "body"), parent=parent,
                                 alignment=data.get("alignment") or Stance.NEUTRAL,
                                 client_id=_text(data, "client_id"))


def vote(actor, data) -> tuple[Comment, int | None]:
    """Up, down or none (`value`) on comment `comment`: the comment with its new score, and the voter's vote."""
    comment = _comment_in(data)
    value = VOTE_VALUES.get(_text(data, "value"))  # anything else: the service says what a vote is
    return services.vote(comment=comment, user=actor.user, value=value), value


def edit_comment(actor, data) -> Comment:
    """The author's new text (`body`) of comment `comment`, and for a root comment its stance (`alignment`)."""
    comment = _comment_in(data)
    return services.edit_comment(comment=comment, actor=actor.user, body=_text(data, "body"),
                                 alignment=data.get("alignment"))


# --- the same writes over the page's socket (live.socket_writes: `write` frames of `data-live-write` forms) --------

@socket_write("debates.comment")
def comment_over_socket(actor, data) -> dict:
    return {"id": post_comment(actor, data).pk}


@socket_write("debates.vote")
def vote_over_socket(actor, data) -> dict:
    comment, value = vote(actor, data)
    # The score reaches every page through the push; the pressed button is the voter's alone (debates.js).
    return {"id": comment.pk, "my_vote": value, "score": comment.score}


@socket_write("debates.edit")
def edit_over_socket(actor, data) -> dict:
    """An edit of a comment's text, or of a root comment's stance."""
    return {"id": edit_comment(actor, data).pk}
