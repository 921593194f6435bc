"""The city's open data: what the public pages already show, as rows, read in chunks (never a whole table in
memory). No hidden or deleted comment, no erased author's text, no e-mail or IP: a person appears only by the public
name the pages show, or not at all when they chose so (opendata.models.NamePreference): neither as an author nor
@mentioned in what others wrote.

Each dataset also says what its rows depend on (`state`): a few aggregates that change whenever a row it shows
could have. opendata.views hashes them into the ETag, which is also the server cache's key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from debates.models import Comment, Debate, Stance
from live.text import mentioned_nicknames, plain_text, replace_mentions
from meetings.models import Contribution, Meeting, Poll, PollAnswer
from opendata.models import NamePreference

CHUNK = 500

# What an @mention of someone who left their name out becomes.
NAME_LEFT_OUT = _("[name left out]")


def _when(value) -> str:
    return value.isoformat() if value else ""


def _name_hidden(field: str) -> Exists:
    return Exists(NamePreference.objects.filter(user_id=OuterRef(field), hide_name=True))


def _name(user, hidden: bool) -> str:
    return "" if hidden else user.public_name


def _names_left_out() -> set[str]:
    """The nicknames (lower case) of the people who left their name out."""
    return {nickname.lower() for nickname in NamePreference.objects.filter(hide_name=True)
            .values_list("user__nickname", flat=True)}


def _published(text: str, left_out: set[str]) -> str:
    """`text` with its @mentions of people who left their name out replaced by NAME_LEFT_OUT (in any case, as
    live.text.replace_mentions reads them)."""
    if not left_out or "@" not in text:
        return text
    for nickname in {candidate.lower() for candidate in mentioned_nicknames(text)} & left_out:
        text = replace_mentions(text, nickname, str(NAME_LEFT_OUT))
    return text


# --- what each dataset depends on --------------------------------------------------------------------------------
# Counts and sums of primary keys catch rows created or removed for good (an administrator's delete), the newest
# change dates catch edits; for the rows a dataset shows, the count and sum of those shown catch a hide, an unhide,
# a deletion or an erasure.

def _people_state() -> list[dict]:
    """Names: erased accounts, and who left their name out (as authors and as @mentions)."""
    return [get_user_model().objects.aggregate(erased=Max("erased_at")),
            NamePreference.objects.aggregate(n=Count("pk", filter=Q(hide_name=True)), at=Max("changed_at"))]


def _comments_state() -> dict:
    shown = Q(deleted_at__isnull=True, hidden_at__isnull=True, author__erased_at__isnull=True)
    return Comment.objects.aggregate(
        n=Count("pk"), ids=Sum("pk"), shown=Count("pk", filter=shown), shown_ids=Sum("pk", filter=shown),
        edited=Max("edited_at"), deleted=Max("deleted_at"), hidden=Max("hidden_at"))


def comments_state() -> list:
    return [_comments_state(), *_people_state()]


def debates_state() -> list:
    # Their tallies are of the comments shown.
    return [Debate.objects.aggregate(n=Count("pk"), ids=Sum("pk"), at=Max("updated_at")), _comments_state(),
            *_people_state()]


def meetings_state() -> list:
    published = Q(report_published_at__isnull=False)
    in_published = Q(meeting__report_published_at__isnull=False)
    shown = Q(status=Contribution.Status.APPROVED, hidden_at__isnull=True)
    return [
        # Meeting.updated_at: its title, place, date, minutes, attendees or publication changed.
        Meeting.objects.aggregate(n=Count("pk", filter=published), ids=Sum("pk", filter=published),
                                  at=Max("updated_at", filter=published)),
        Contribution.objects.filter(in_published).aggregate(
            shown=Count("pk", filter=shown), ids=Sum("pk", filter=shown), hidden=Max("hidden_at"),
            approved=Max("approved_at")),
        Poll.objects.filter(in_published).exclude(kind=Poll.Kind.WORDS).exclude(status=Poll.Status.DRAFT)
        .aggregate(n=Count("pk"), ids=Sum("pk")),
        # Answering again replaces the answer: a new row.
        PollAnswer.objects.filter(poll__meeting__report_published_at__isnull=False).aggregate(
            n=Count("pk"), ids=Sum("pk"), last=Max("pk")),
        *_people_state(),
    ]


# --- the rows ------------------------------------------------------------------------------------------------------

def debates() -> Iterator[dict]:
    visible_roots = Q(comments__deleted_at__isnull=True, comments__hidden_at__isnull=True,
                      comments__parent__isnull=True)
    rows = Debate.objects.select_related("author").annotate(
        name_hidden=_name_hidden("author_id"),
        stance_for=Count("comments", filter=visible_roots & Q(comments__alignment=Stance.FOR)),
        stance_neutral=Count("comments", filter=visible_roots & Q(comments__alignment=Stance.NEUTRAL)),
        stance_against=Count("comments", filter=visible_roots & Q(comments__alignment=Stance.AGAINST)),
        comments_visible=Count("comments", filter=Q(comments__deleted_at__isnull=True,
                                                    comments__hidden_at__isnull=True)),
    ).order_by("pk")
    left_out = _names_left_out()
    for debate in rows.iterator(chunk_size=CHUNK):
        yield {"id": debate.pk, "title": _published(debate.title, left_out), "url": debate.get_absolute_url(),
               "opened_by": _name(debate.author, debate.name_hidden), "official": debate.official,
               "created_at": _when(debate.created_at), "closed_at": _when(debate.closed_at),
               "comments": debate.comments_visible, "for": debate.stance_for, "neutral": debate.stance_neutral,
               "against": debate.stance_against,
               "conclusions": _published(plain_text(debate.conclusions), left_out)}


def comments() -> Iterator[dict]:
    rows = (Comment.objects.visible().filter(author__erased_at__isnull=True)
            .select_related("author").annotate(name_hidden=_name_hidden("author_id")).order_by("pk"))
    left_out = _names_left_out()
    for comment in rows.iterator(chunk_size=CHUNK):
        yield {"id": comment.pk, "debate_id": comment.debate_id, "parent_id": comment.parent_id or "",
               "created_at": _when(comment.created_at), "author": _name(comment.author, comment.name_hidden),
               "stance": str(Stance(comment.alignment).label) if comment.depth == 0 else "",
               "score": comment.score, "text": _published(plain_text(comment.body), left_out)}


def _poll_results(meeting, left_out: set[str]) -> list[dict]:
    polls = (Poll.objects.filter(meeting=meeting).exclude(status=Poll.Status.DRAFT)
             .exclude(kind=Poll.Kind.WORDS)  # a word cloud's "choices" are what people typed
             .prefetch_related("choices"))
    out = []
    for poll in polls:
        counts = dict(poll.answers.values_list("choice_id").annotate(n=Count("pk")))
        out.append({"question": _published(poll.question, left_out),
                    "results": [{"choice": _published(choice.label, left_out), "answers": counts.get(choice.pk, 0)}
                                for choice in poll.choices.all()]})
    return out


def meetings() -> Iterator[dict]:
    shown = Q(contributions__status=Contribution.Status.APPROVED, contributions__hidden_at__isnull=True)
    rows = (Meeting.objects.filter(report_published_at__isnull=False)
            .annotate(contributions_shown=Count("contributions", filter=shown)).order_by("pk"))
    left_out = _names_left_out()
    for meeting in rows.iterator(chunk_size=CHUNK):
        yield {"id": meeting.pk, "title": _published(meeting.title, left_out), "url": meeting.get_absolute_url(),
               "starts_at": _when(meeting.starts_at), "place": _published(meeting.place, left_out),
               "report_published_at": _when(meeting.report_published_at), "attendees": meeting.report_attendees or "",
               "contributions": meeting.contributions_shown,
               "minutes": _published(plain_text(meeting.report_minutes), left_out),
               "polls": _poll_results(meeting, left_out)}


class Dataset(NamedTuple):
    title: Promise
    description: Promise
    rows: Callable[[], Iterator[dict]]
    state: Callable[[], list]  # changes whenever a row could have (the ETag)


DATASETS = {
    "debates": Dataset(_("Debates"), _("Every debate with its stance tallies (visible comments) and its conclusions."),
                       debates, debates_state),
    "comments": Dataset(_("Public comments"), _("Every comment the debate pages show: no hidden or deleted one, "
                                                "authors by their public nickname only (or none, when they chose "
                                                "so)."), comments, comments_state),
    "meetings": Dataset(_("Meeting reports"), _("The closing report of each meeting that published one, with its "
                                                "number of contributions shown and the results of its polls."),
                        meetings, meetings_state),
}
