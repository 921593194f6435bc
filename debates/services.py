"""The only writers of debates and comments. Views, the consumer's typing handler, the admin, moderation and the
demo call these; each checks permission, writes rows, and appends its stream event in one transaction, so every
open page sees the change through the same push (the actor's own page included)."""

from __future__ import annotations

import functools
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from debates import permissions
from debates import streams as debate_streams
from debates.models import LIST_STREAM, Comment, Debate, DebateUpdate, Stance, Vote
from live import effects, ratelimit, streams
from live.accounts.models import erased_name_stored
from live.database import (
    columns,
    first_if_sent_twice,
    from_db,
    hot_cursor,
    insert,
    insert_statement,
    lock_then_read,
    next_id,
    riding_or_inserted,
    save_fields,
)
from live.moderation.registry import REASON_MAX_LENGTH
from live.notifications.services import notify
from live.text import clean_user_text, mentioned_nicknames, plain_text, render_markdown_lite, replace_mentions

CONCLUSIONS_MIN, CONCLUSIONS_MAX = 10, 10000


# --- checks ------------------------------------------------------------------------------------------------------

def existing_mentions(body: str) -> dict[str, object]:
    """{nickname: user} for the @mentions in `body` that name an active person."""
    candidates = mentioned_nicknames(body)
    if not candidates:
        return {}
    users = get_user_model().objects.filter(nickname__in=candidates, is_active=True, blocked_at__isnull=True)
    return {user.nickname: user for user in users}


def render_body(body: str) -> tuple[str, dict]:
    mentions = existing_mentions(body)
    return str(render_markdown_lite(body, mentions=set(mentions))), mentions


def ensure_can_comment(user, debate) -> None:
    refusal = permissions.comment_refusal(user, debate)
    if refusal:
        raise PermissionDenied(refusal)


def reply_refusal(parent) -> str | None:
    """Why no reply to `parent` is taken (the reply form says it before anyone types), or None."""
    if parent.depth >= Comment.MAX_DEPTH:
        return _("Replies can only go %(levels)s levels deep: reply to the comment above instead.") % {
            "levels": Comment.MAX_DEPTH + 1}
    if parent.is_deleted or parent.is_hidden:
        return _("This comment is no longer available: you cannot reply to it.")
    return None


def ensure_can_create_debate(user) -> None:
    if not permissions.can_create_debate(user):
        raise PermissionDenied(_("Only facilitators can open a debate."))


def ensure_can_edit_debate(user, debate) -> None:
    if not permissions.can_edit_debate(user, debate):
        raise PermissionDenied(_("Only the author or a facilitator can edit this debate."))


def ensure_can_close_debate(user, debate) -> None:
    if not permissions.can_close_debate(user, debate):
        raise PermissionDenied(_("Only the author, a facilitator or a moderator can close this debate."))


def ensure_can_edit_comment(user, comment) -> None:
    refusal = permissions.comment_edit_refusal(user, comment)
    if refusal:
        raise PermissionDenied(refusal)


def _locked_debate(debate) -> Debate:
    """The debate row, locked for writing until the end of the transaction (state changes)."""
    return Debate.objects.select_for_update(of=("self",)).get(pk=debate.pk)


def _shared_debate(debate_id, *, posted_by=None, client_id="") -> Debate:
    """The debate row under a SHARE lock: many comments and votes go on at once, but none slips in while a
    close or a lock (FOR UPDATE) commits, and a close waits for the comments already under way.

    With `posted_by`, their account's row too, under a SHARE lock taken first, and its state as it stands then
    (`is_active`, `blocked_at`, `erased_at` set on `posted_by`): a comment under way while they are blocked or erase
    their account waits for that, then is refused (read before, it slipped past a block's hiding, or kept its
    text under the erased account); a block or an erasure that comes second waits for the comment, and then finds
    it. With `client_id` too, the same statement says (`.already`) which comment of theirs carries that client id,
    if any: a retried post is recognized without a query of its own. And it takes the id of the comment about to be
    written (`.next_comment_id`, None on SQLite): its INSERT rides with its event's statement (`_post_comment`)."""
    if connection.vendor == "postgresql":
        table, comments = Debate._meta.db_table, Comment._meta.db_table
        selected, names = columns(Debate, "d")
        already, params, author = "NULL", [debate_id], ""
        if getattr(posted_by, "pk", None) is not None:  # (an anonymous visitor is refused by the usual check)
            if client_id:
                already = f'(SELECT c."id" FROM "{comments}" c WHERE c."author_id" = %s AND c."client_id" = %s)'
                params = [posted_by.pk, client_id, debate_id]
            # The account first in FROM, so first in the lock clause: its lock is taken (waited for) before the
            # debate's, and nothing of this transaction is held while it waits.
            author = f'"{get_user_model()._meta.db_table}" u CROSS JOIN '
            selected = [*selected, 'u."is_active"', 'u."blocked_at"', 'u."erased_at"', next_id(Comment)]
            params.append(posted_by.pk)
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT {", ".join(selected)}, {already} FROM {author}"{table}" d WHERE d."id" = %s '
                           + ('AND u."id" = %s FOR SHARE OF u, d' if author else "FOR SHARE OF d"), params)
            row = cursor.fetchone()
        if row is None and author and Debate.objects.filter(pk=debate_id).exists():
            raise PermissionDenied(_("Your account cannot take part."))
        if row is None:
            # A write may name its debate by id alone (debates.writes): as `.get()` says it.
            raise Debate.DoesNotExist("Debate matching query does not exist.")
        debate = from_db(Debate, names, row[:len(names)])
        if author:
            (posted_by.is_active, posted_by.blocked_at, posted_by.erased_at,
             debate.next_comment_id) = row[len(names):len(names) + 4]
        debate.already = row[-1]
        return debate
    debate = Debate.objects.get(pk=debate_id)  # SQLite serializes writers anyway
    if posted_by is not None and client_id:
        debate.already = Comment.objects.filter(author=posted_by, client_id=client_id).values_list(
            "pk", flat=True).first()
    return debate


def _slow_mode(user, debate) -> None:
    seconds = debate.slow_mode_seconds
    if not seconds or permissions.is_moderator(user, debate):
        return
    if not ratelimit.once_per("slow_mode", user, seconds, where=debate.pk):
        raise ValidationError(_("Slow mode is on in this debate: one comment every %(seconds)s seconds.")
                              % {"seconds": seconds}, code="slow_mode")


# --- debates -----------------------------------------------------------------------------------------------------

def _check_window(starts_at, ends_at) -> None:
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValidationError(_("The end of the opening window must come after its start."), code="window")


def _check_decidim_url(url) -> None:
    try:
        Debate._meta.get_field("decidim_url").clean(url, None)
    except ValidationError as exc:
        raise ValidationError({"decidim_url": exc.messages}) from None


def _debate_texts(title: str, description: str, instructions: str) -> tuple[str, str, str]:
    return (clean_user_text(title, multiline=False, field=_("The title"), max_length=150, min_length=5),
            clean_user_text(description, multiline=True, field=_("The description"), max_length=10000,
                            min_length=10),
            clean_user_text(instructions, multiline=True, field=_("The instructions"), max_length=2000,
                            required=False))


@transaction.atomic
def create_debate(*, author, title, description, instructions="", starts_at=None, ends_at=None,
                  decidim_url="") -> Debate:
    """Open a debate. Facilitators and administrators always may (their debates are "official"); participants
    may when settings.DEBATES_PARTICIPANTS_CAN_CREATE."""
    ensure_can_create_debate(author)
    title, description, instructions = _debate_texts(title, description, instructions)
    _check_window(starts_at, ends_at)
    _check_decidim_url(decidim_url)
    ratelimit.enforce("debate", author)
    debate = Debate.objects.create(
        title=plain_text(title), description=description, description_html=render_body(description)[0],
        instructions=instructions, instructions_html=render_body(instructions)[0] if instructions else "",
        author=author, official=permissions.is_official(author), starts_at=starts_at, ends_at=ends_at,
        decidim_url=decidim_url,
    )
    streams.append(debate.stream_key, "debate.created", debate=debate.pk)
    streams.append(LIST_STREAM, "list.debate_created", debate=debate.pk)
    return debate


@transaction.atomic
def edit_debate(*, debate, actor, title, description, instructions="", starts_at=None, ends_at=None,
                decidim_url=None) -> Debate:
    ensure_can_edit_debate(actor, debate)
    title, description, instructions = _debate_texts(title, description, instructions)
    _check_window(starts_at, ends_at)
    if decidim_url is not None:  # None: left as it is (the form has no such field when no Decidim is configured)
        _check_decidim_url(decidim_url)
    ratelimit.enforce("debate_edit", actor)
    debate = _locked_debate(debate)
    debate.title, debate.description = plain_text(title), description
    debate.description_html = render_body(description)[0]
    debate.instructions = instructions
    debate.instructions_html = render_body(instructions)[0] if instructions else ""
    debate.starts_at, debate.ends_at = starts_at, ends_at
    if decidim_url is not None:
        debate.decidim_url = decidim_url
    debate.save()
    streams.append(debate.stream_key, "debate.edited", debate=debate.pk)
    streams.append(LIST_STREAM, "list.debate_changed", debate=debate.pk)
    return debate


@transaction.atomic
def post_update(*, debate, actor, body) -> DebateUpdate:
    """An information update from the author or a facilitator, shown at the top of the debate."""
    if not permissions.can_post_update(actor, debate):
        raise PermissionDenied(_("Only the author or a facilitator can post information updates."))
    body = clean_user_text(body, multiline=True, field=_("The update"), max_length=2000)
    ratelimit.enforce("debate_edit", actor)
    update = DebateUpdate.objects.create(debate=debate, author=actor, body=body, body_html=render_body(body)[0])
    streams.append(debate.stream_key, "debate.update_posted", update=update.pk)
    return update


@transaction.atomic
def close_debate(*, debate, actor, conclusions) -> Debate:
    """Close with conclusions: no more comments or votes; everyone who took part is notified."""
    ensure_can_close_debate(actor, debate)
    conclusions = clean_user_text(conclusions, multiline=True, field=_("The conclusions"),
                                  max_length=CONCLUSIONS_MAX, min_length=CONCLUSIONS_MIN)
    ratelimit.enforce("debate_edit", actor)
    debate = _locked_debate(debate)
    if debate.is_closed:
        raise ValidationError(_("This debate is already closed."), code="closed")
    debate.closed_at, debate.closed_by = timezone.now(), actor
    debate.conclusions, debate.conclusions_html = conclusions, render_body(conclusions)[0]
    debate.save(update_fields=["closed_at", "closed_by", "conclusions", "conclusions_html", "updated_at"])
    streams.append(debate.stream_key, "debate.closed", debate=debate.pk)
    streams.append(LIST_STREAM, "list.debate_changed", debate=debate.pk, closed=True)
    participants = set(Comment.objects.filter(debate=debate).values_list("author_id", flat=True))
    participants.add(debate.author_id)
    participants.discard(actor.pk)
    text = gettext_lazy("The debate “%(title)s” is closed: read its conclusions.")
    for user in get_user_model().objects.filter(pk__in=participants, is_active=True):
        notify(user=user, kind="debate.closed", text=text, params={"title": debate.title},
               url=debate.get_absolute_url() + "#conclusions", subject=f"debate:{debate.pk}")
    return debate


@transaction.atomic
def reopen_debate(*, debate, actor) -> Debate:
    if not permissions.can_close_debate(actor, debate):
        raise PermissionDenied(_("Only the author, a facilitator or a moderator can reopen this debate."))
    ratelimit.enforce("debate_edit", actor)
    debate = _locked_debate(debate)
    if not debate.is_closed:
        raise ValidationError(_("This debate is not closed."), code="not_closed")
    debate.closed_at, debate.closed_by = None, None
    debate.save(update_fields=["closed_at", "closed_by", "updated_at"])
    streams.append(debate.stream_key, "debate.reopened", debate=debate.pk)
    streams.append(LIST_STREAM, "list.debate_changed", debate=debate.pk)
    return debate


@transaction.atomic
def lock_comments(*, debate, actor, locked: bool, reason: str = "") -> Debate:
    """A moderator stops (or resumes) the comments and votes of a debate."""
    if actor is not None and not permissions.can_lock_debate(actor, debate):
        raise PermissionDenied(_("Only a moderator can lock the comments."))
    if actor is not None:
        ratelimit.enforce("moderate", actor)
    debate = _locked_debate(debate)
    if locked == debate.comments_locked:
        return debate
    debate.locked_at = timezone.now() if locked else None
    debate.locked_by = actor if locked else None
    debate.lock_reason = plain_text(reason or "", REASON_MAX_LENGTH) if locked else ""
    debate.save(update_fields=["locked_at", "locked_by", "lock_reason", "updated_at"])
    streams.append(debate.stream_key, "debate.locked" if locked else "debate.unlocked", debate=debate.pk)
    streams.append(LIST_STREAM, "list.debate_changed", debate=debate.pk)
    return debate


@transaction.atomic
def set_slow_mode(*, debate, actor, seconds: int) -> Debate:
    if actor is not None and not permissions.can_lock_debate(actor, debate):
        raise PermissionDenied(_("Only a moderator can set slow mode."))
    debate = _locked_debate(debate)
    debate.slow_mode_seconds = max(0, min(int(seconds), 3600))
    debate.save(update_fields=["slow_mode_seconds", "updated_at"])
    streams.append(debate.stream_key, "debate.edited", debate=debate.pk)
    return debate


# --- comments ----------------------------------------------------------------------------------------------------

def _comment_body(body: str) -> str:
    return clean_user_text(body, multiline=True, field=_("Your comment"),
                           max_length=settings.DEBATES_COMMENT_MAX_LENGTH)


def _notify_mentions(comment, mentions: dict, already: set) -> None:
    if not mentions:
        return
    url = comment.get_absolute_url()
    for user in mentions.values():
        if user.pk == comment.author_id or user.pk in already:
            continue
        notify(user=user, kind="debate.mention", text=gettext_lazy("%(author)s mentioned you in “%(debate)s”"),
               params={"author": comment.author.nickname, "debate": comment.debate.title}, url=url,
               subject=f"comment:{comment.pk}")
        already.add(user.pk)


CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def post_comment(*, author, debate, body, parent=None, alignment=Stance.NEUTRAL, client_id="") -> Comment:
    """A root comment (with a stance) or a reply (down to three levels). Notifies the parent's author and the
    people mentioned. `client_id` (from the form) makes a retried post return the comment it already created."""
    client_id = client_id if client_id and CLIENT_ID_RE.match(client_id) and getattr(author, "pk", None) else ""
    return first_if_sent_twice(
        lambda: _post_comment(author=author, debate=debate, body=body, parent=parent, alignment=alignment,
                              client_id=client_id),
        lambda: Comment.objects.filter(author=author, client_id=client_id).first() if client_id else None)


@transaction.atomic
def _post_comment(*, author, debate, body, parent, alignment, client_id) -> Comment:
    body = _comment_body(body)
    debate = _shared_debate(debate.pk, posted_by=author, client_id=client_id)
    if getattr(debate, "already", None):
        return Comment.objects.get(pk=debate.already)
    ensure_can_comment(author, debate)
    if parent is not None:
        if parent.debate_id != debate.pk:
            raise ValidationError(_("You can only reply to a comment of this debate."), code="other_debate")
        _count_reply(parent)
        refusal = reply_refusal(parent)
        if refusal:
            raise ValidationError(refusal, code="parent")  # the count above goes with the transaction
        alignment = Stance.NEUTRAL
    else:
        try:
            alignment = Stance(int(alignment))
        except (TypeError, ValueError):
            raise ValidationError(_("Choose for, neutral or against."), code="stance") from None
    ratelimit.enforce("comment", author)  # a refused attempt is not counted: it spends nothing
    html, mentions = render_body(body)
    # Last before the write: the slow mode's slot is taken by a comment that is written, never by one refused by the
    # rate limit (or anything before); a comment the slow mode refuses gives its rate-limit attempt back.
    try:
        _slow_mode(author, debate)
    except ValidationError:
        ratelimit.give_back("comment", author)
        raise
    comment = Comment(
        debate=debate, author=author, parent=parent, root_id=(parent.root_id or parent.pk) if parent else None,
        depth=parent.depth + 1 if parent else 0, alignment=alignment, body=body, body_html=html, client_id=client_id,
    )
    # Its id taken with the debate's lock (PostgreSQL), the comment rides with its event's statement.
    with streams.together(riding_or_inserted(comment, getattr(debate, "next_comment_id", None))):
        # The push renders the comment as committed, without reading it again (a later change has its own event).
        streams.append(debate.stream_key, "comment.posted", comment=comment.pk, known={"comment": comment})
    _recount_after_commit(debate.pk)
    notified = {author.pk}
    if parent is not None and parent.author_id not in notified and parent.author.is_active:
        notify(user=parent.author, kind="debate.reply",
               text=gettext_lazy("%(author)s replied to your comment in “%(debate)s”"),
               params={"author": author.nickname, "debate": debate.title}, url=comment.get_absolute_url(),
               subject=f"comment:{comment.pk}")
        notified.add(parent.author_id)
    _notify_mentions(comment, mentions, notified)
    return comment


def _count_reply(parent) -> None:
    """One more reply on `parent` and in its thread, in one statement (the parent may be the thread's root), written
    out: the ORM's CASE built and compiled on every reply. The statement locks the parent's row, and refreshes its
    `deleted_at` and `hidden_at` from the row as locked (a hide, a delete or a removal under way is waited for), for
    `reply_refusal` to check: `parent` was read before this transaction, unlocked. A parent removed since is
    marked deleted."""
    root_id = parent.root_id or parent.pk
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{Comment._meta.db_table}" SET '
            f'"reply_count" = "reply_count" + CASE WHEN "id" = %s THEN 1 ELSE 0 END, '
            f'"thread_size" = "thread_size" + CASE WHEN "id" = %s THEN 1 ELSE 0 END WHERE "id" IN (%s, %s) '
            f'RETURNING "id", "deleted_at", "hidden_at"',
            [parent.pk, root_id, parent.pk, root_id])
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    if parent.pk not in rows:
        parent.deleted_at = timezone.now()
        return
    for name, value in zip(("deleted_at", "hidden_at"), rows[parent.pk], strict=True):
        field = Comment._meta.get_field(name)
        col = field.get_col(Comment._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
            value = convert(value, col, connection)  # as the ORM reads it (SQLite's text datetimes)
        setattr(parent, name, value)


def _recount_after_commit(debate_id: int) -> None:
    """The debate list's comment count of `debate_id`, pushed after the commit (a comment posted, deleted, removed,
    hidden or shown again)."""
    effects.after_commit("debate list comment count", functools.partial(debate_streams.comment_count_changed, debate_id))


def _locked_comment(comment, *, voter=None) -> Comment:
    """The comment row locked (not its debate nor its author), with its author, and its debate under a share lock
    (`_shared_debate`). `voter`: also `.current_vote`, that person's vote on it (0 for none), read once the lock is
    held. One round trip on PostgreSQL (three statements with the ORM, whose building cost most of a vote's CPU)."""
    if connection.vendor != "postgresql":
        locked = Comment.objects.select_for_update(of=("self",)).select_related("author").get(pk=comment.pk)
        locked.debate = _shared_debate(locked.debate_id)
        if voter is not None:
            locked.current_vote = Vote.objects.filter(comment=locked, user=voter).values_list(
                "value", flat=True).first() or 0
        return locked
    sql, vote_sql, models, names = _locked_comment_sql(connection.vendor)
    with hot_cursor() as cursor:
        if voter is None:
            cursor.execute(sql, [comment.pk])
            row = cursor.fetchone()
        else:
            # The voter's vote in a statement of its own after the lock's: a subquery of the locking statement
            # would read it from that statement's snapshot, taken before it waited for the lock, and so miss the
            # vote of the transaction it waited for (the same person's other tab: a second INSERT, or counts
            # without a vote). Both in one round trip (live.database.lock_then_read).
            [row] = lock_then_read(cursor, [(sql, [comment.pk], lambda cursor: cursor.fetchone())], vote_sql,
                                   [comment.pk, voter.pk])
            current = cursor.fetchone()
    if row is None:
        raise Comment.DoesNotExist("Comment matching query does not exist.")
    built, at = [], 0
    for model, attnames in zip(models, names, strict=True):
        built.append(from_db(model, attnames, row[at:at + len(attnames)]))
        at += len(attnames)
    locked, locked.author, locked.debate = built
    if voter is not None:
        locked.current_vote = current[0] if current else 0
    return locked


@functools.cache
def _locked_comment_sql(vendor: str) -> tuple[str, str, tuple, tuple]:
    """`_locked_comment`'s locking statement, the read of a voter's vote that follows it, the models the first reads
    and their columns' attnames, in row order: built once, not on every vote."""
    User = get_user_model()  # noqa: N806
    parts = [(Comment, "c"), (User, "u"), (Debate, "d")]
    selected = [columns(model, alias) for model, alias in parts]
    sql = (f'SELECT {", ".join(column for cols, _names in selected for column in cols)} '
           f'FROM "{Comment._meta.db_table}" c JOIN "{User._meta.db_table}" u ON u."id" = c."author_id" '
           f'JOIN "{Debate._meta.db_table}" d ON d."id" = c."debate_id" '
           f'WHERE c."id" = %s FOR UPDATE OF c FOR SHARE OF d')
    vote_sql = f'SELECT v."value" FROM "{Vote._meta.db_table}" v WHERE v."comment_id" = %s AND v."user_id" = %s'
    return sql, vote_sql, tuple(model for model, _alias in parts), tuple(names for _cols, names in selected)


@transaction.atomic
def edit_comment(*, comment, actor, body, alignment=None) -> Comment:
    """The author rewrites their comment (marked "edited"); newly mentioned people are notified."""
    body = _comment_body(body)
    comment = _locked_comment(comment)
    ensure_can_edit_comment(actor, comment)  # one's own, while the debate takes comments
    if comment.is_hidden:
        raise PermissionDenied(_("This comment was hidden by moderation and cannot be edited."))
    fields = ["body", "body_html", "edited_at"]
    if alignment is not None and comment.parent_id is None:
        try:
            alignment = Stance(int(alignment))
        except (TypeError, ValueError):
            raise ValidationError(_("Choose for, neutral or against."), code="stance") from None
        fields.append("alignment")
    ratelimit.enforce("comment", actor)  # after every refusal of the input: a refused edit spends nothing
    before = set(existing_mentions(comment.body))
    html, mentions = render_body(body)
    comment.body, comment.body_html, comment.edited_at = body, html, timezone.now()
    if "alignment" in fields:
        comment.alignment = alignment
    save_fields(comment, fields)  # locked above
    streams.append(comment.debate.stream_key, "comment.edited", comment=comment.pk, known={"comment": comment})
    _notify_mentions(comment, {k: v for k, v in mentions.items() if k not in before}, {actor.pk})
    return comment


@transaction.atomic
def delete_comment(*, comment, actor) -> Comment:
    """Soft delete: the comment leaves the pages, the feeds and the open data at once, a placeholder keeps the
    replies in place; its text is kept PRIVACY_DELETED_DAYS for a report made before (then blanked by retention,
    docs/privacy.md), or until the author's erasure."""
    comment = _locked_comment(comment)
    if not permissions.can_delete_comment(actor, comment):
        raise PermissionDenied(_("You can only delete your own comments."))
    ratelimit.enforce("comment_delete", actor)
    comment.deleted_at = timezone.now()
    comment.save(update_fields=["deleted_at"])
    streams.append(comment.debate.stream_key, "comment.deleted", comment=comment.pk)
    _recount_after_commit(comment.debate_id)
    return comment


@transaction.atomic
def remove_comment(*, comment, actor) -> None:
    """An administrator removes a comment for good, with the replies below it (the admin's delete; an author's own
    delete leaves a placeholder instead). The parent's reply count and the thread's size follow, and open pages
    lose it at once."""
    comment = _locked_comment(comment)
    if not permissions.can_remove_comment(actor):
        raise PermissionDenied(_("Only administrators can remove comments."))
    ratelimit.enforce("moderate", actor)
    removed, level = [comment.pk], [comment.pk]
    while level:
        level = list(Comment.objects.filter(parent_id__in=level).values_list("pk", flat=True))
        removed += level
    below = len(removed) - 1
    rank = 0
    if comment.parent_id is not None:
        # Its place among its siblings, as pages show them: whether it sat under "show N more replies".
        rank = 1 + Comment.objects.filter(parent_id=comment.parent_id).filter(
            Q(created_at__lt=comment.created_at) | Q(created_at=comment.created_at, pk__lt=comment.pk)).count()
        Comment.objects.filter(pk=comment.parent_id).update(reply_count=F("reply_count") - 1)
        Comment.objects.filter(pk=comment.root_id).update(thread_size=F("thread_size") - 1 - below)
    Comment.objects.filter(pk=comment.pk).delete()  # its replies and votes go with it (on_delete=CASCADE)
    # `comment`: the removed one first, then every reply below it, so that no replay resends the frames of any of
    # them remembered from before (refs).
    streams.append(comment.debate.stream_key, "comment.removed", comment=removed, parent=comment.parent_id,
                   rank=rank)
    _recount_after_commit(comment.debate_id)


@transaction.atomic
def vote(*, comment, user, value: int) -> Comment:
    """Up (1), down (-1) or remove (0) `user`'s vote on `comment`; one per user, changeable."""
    if value not in (Vote.UP, Vote.DOWN, 0):
        raise ValidationError(_("A vote is up, down or none."), code="value")
    comment = _locked_comment(comment, voter=user)
    ensure_can_comment(user, comment.debate)
    if comment.author_id == user.pk:
        raise PermissionDenied(_("You cannot vote on your own comment."))
    if comment.is_deleted or comment.is_hidden:
        raise ValidationError(_("This comment is no longer available."), code="gone")
    ratelimit.enforce("vote", user)
    current = comment.current_vote
    if current == value:
        return comment  # nothing changes: no event
    # The comment row is locked: this person's vote on it cannot change under us (no savepoint, no upsert).
    if connection.vendor == "postgresql":
        _store_vote(comment, user, value, current)
    else:
        _store_vote_portable(comment, user, value, current)
    streams.append(comment.debate.stream_key, "comment.voted", comment=comment.pk, known={"comment": comment})
    return comment


def _store_vote_portable(comment, user, value: int, current: int) -> None:
    """`_store_vote` for SQLite (`make run`): the vote's row, then the counts again from the votes."""
    if value == 0:
        Vote.objects.filter(comment=comment, user=user).delete()
    elif current == 0:
        insert(Vote(comment=comment, user=user, value=value))
    else:
        Vote.objects.filter(comment=comment, user=user).update(value=value)
    table, votes = Comment._meta.db_table, Vote._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" SET "upvotes" = v.up, "downvotes" = v.down, "score" = v.up - v.down '
            f'FROM (SELECT COUNT(*) FILTER (WHERE "value" = %s) AS up, COUNT(*) FILTER (WHERE "value" = %s) AS down '
            f'FROM "{votes}" WHERE "comment_id" = %s) AS v WHERE "id" = %s RETURNING "upvotes", "downvotes"',
            [Vote.UP, Vote.DOWN, comment.pk, comment.pk])
        comment.upvotes, comment.downvotes = cursor.fetchone()
    comment.score = comment.upvotes - comment.downvotes


def _store_vote(comment, user, value: int, current: int) -> None:
    """`vote`'s change on PostgreSQL, in one statement: the voter's row inserted, updated or deleted (a `WITH`), and
    the comment's counts stored from the other voters' rows plus this new vote (the `WITH`'s change is not visible
    to the same statement's count; the comment's lock keeps the others' votes from changing meanwhile). Two
    statements before (#17)."""
    table, votes = Comment._meta.db_table, Vote._meta.db_table
    if value == 0:
        change, params = f'DELETE FROM "{votes}" WHERE "comment_id" = %s AND "user_id" = %s', [comment.pk, user.pk]
    elif current == 0:
        change, params = insert_statement(Vote(comment=comment, user=user, value=value))
    else:
        change = f'UPDATE "{votes}" SET "value" = %s WHERE "comment_id" = %s AND "user_id" = %s'
        params = [value, comment.pk, user.pk]
    with connection.cursor() as cursor:
        cursor.execute(
            f'WITH changed AS ({change}) '
            f'UPDATE "{table}" SET "upvotes" = v.up, "downvotes" = v.down, "score" = v.up - v.down '
            f'FROM (SELECT COUNT(*) FILTER (WHERE "value" = %s) + %s AS up, '
            f'COUNT(*) FILTER (WHERE "value" = %s) + %s AS down '
            f'FROM "{votes}" WHERE "comment_id" = %s AND "user_id" <> %s) AS v WHERE "id" = %s '
            f'RETURNING "upvotes", "downvotes"',
            [*params, Vote.UP, int(value == Vote.UP), Vote.DOWN, int(value == Vote.DOWN), comment.pk, user.pk,
             comment.pk])
        comment.upvotes, comment.downvotes = cursor.fetchone()
    comment.score = comment.upvotes - comment.downvotes


# --- moderation (called through live.moderation's registry, which checks and logs) -------------------------------

@transaction.atomic
def hide_comment(*, comment, actor, reason="", recount=True) -> Comment:
    """Hide a comment from the public ("hidden by moderation"); moderators still see it, marked. The debate list's
    count follows (`recount`=False: the caller recounts once for many)."""
    comment = _locked_comment(comment)
    if comment.is_hidden:
        return comment
    comment.hidden_at, comment.hidden_by = timezone.now(), actor
    comment.hidden_reason = plain_text(reason or "", REASON_MAX_LENGTH)
    comment.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    streams.append(comment.debate.stream_key, "comment.hidden", comment=comment.pk)
    if recount:
        _recount_after_commit(comment.debate_id)
    return comment


@transaction.atomic
def unhide_comment(*, comment, actor) -> Comment:
    comment = _locked_comment(comment)
    if not comment.is_hidden:
        return comment
    comment.hidden_at, comment.hidden_by, comment.hidden_reason = None, None, ""
    comment.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    streams.append(comment.debate.stream_key, "comment.unhidden", comment=comment.pk)
    _recount_after_commit(comment.debate_id)
    return comment


@transaction.atomic
def hide_all_by(user, *, actor, reason="") -> int:
    """Hide every visible comment `user` wrote (the account was blocked)."""
    count, debates = 0, set()
    for comment in Comment.objects.filter(author=user, hidden_at__isnull=True).select_related("debate"):
        hide_comment(comment=comment, actor=actor, reason=reason, recount=False)
        count += 1
        debates.add(comment.debate_id)
    for debate_id in sorted(debates):  # one count per debate, not one per comment
        _recount_after_commit(debate_id)
    return count


def erase_author(*, user, former: dict) -> None:
    """An erasure step (live.features): `user`'s comments keep their place, votes and stance in the thread, without
    their text (pages show a placeholder and "Deleted participant"); every open page of those debates, of the
    debates they opened and the debate list shows the new name at once. One event per debate, not per comment:
    erasing an account of thousands of comments stays a few statements and a few pushes (docs/privacy.md).
    Their @mentions in others' comments, debate texts and information updates become the erased name."""
    by_debate: dict[int, list[int]] = {}
    for debate_id, pk in Comment.objects.filter(author=user).values_list("debate_id", "pk").order_by("pk"):
        by_debate.setdefault(debate_id, []).append(pk)
    Comment.objects.filter(author=user).update(body="", body_html="", client_id="")
    for debate_id, pks in by_debate.items():
        # `comment`: every erased comment, so a socket's remembered frames of them are never replayed (refs).
        streams.append(f"debate.{debate_id}", "comments.author_erased", author=user.pk, comment=pks)
    opened = set(Debate.objects.filter(author=user).values_list("pk", flat=True))
    edited = set()
    erased, needle = erased_name_stored(), f"@{former['nickname']}"
    for comment in Comment.objects.filter(body__icontains=needle):
        body = replace_mentions(comment.body, former["nickname"], erased)
        if body != comment.body:
            comment.body, comment.body_html = body, render_body(body)[0]
            comment.save(update_fields=["body", "body_html"])
            streams.append(f"debate.{comment.debate_id}", "comment.edited", comment=comment.pk)
    texts = (Q(title__icontains=needle) | Q(description__icontains=needle) | Q(instructions__icontains=needle)
             | Q(conclusions__icontains=needle))
    for debate in Debate.objects.filter(texts):
        debate.title = replace_mentions(debate.title, former["nickname"], erased)  # the open data publishes it too
        for field in ("description", "instructions", "conclusions"):
            text = replace_mentions(getattr(debate, field), former["nickname"], erased)
            setattr(debate, field, text)
            setattr(debate, f"{field}_html", render_body(text)[0] if text else "")
        debate.save(update_fields=["title", "description", "description_html", "instructions", "instructions_html",
                                   "conclusions", "conclusions_html"])
        edited.add(debate.pk)
    for update in DebateUpdate.objects.filter(body__icontains=needle):
        update.body = replace_mentions(update.body, former["nickname"], erased)
        update.body_html = render_body(update.body)[0]
        update.save(update_fields=["body", "body_html"])
        edited.add(update.debate_id)
    for pk in sorted(opened | edited):
        # The debate's header (its author, its texts) on its page, and its line in the list.
        streams.append(f"debate.{pk}", "debate.author_erased" if pk in opened else "debate.edited", debate=pk)
        streams.append(LIST_STREAM, "list.debate_changed", debate=pk)
