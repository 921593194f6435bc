"""Private messaging: the only code that writes conversations, messages, preferences and blocks.

Every service checks, writes, then appends its events: on `conversation.<id>` for the open conversation pages and
on each concerned participant's `user.<pk>` for the header badge and the inbox (see live/messaging/renderers.py).

Privacy rule: a conversation exists only for its current participants. Anyone else, including someone who left,
gets `Conversation.DoesNotExist` (a 404), exactly as for a conversation that does not exist.
"""

from __future__ import annotations

import functools
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from live import ratelimit, streams
from live.accounts.models import erased_name_stored
from live.database import (
    account_lock,
    columns,
    from_db,
    hot_cursor,
    insert,
    lock_then_read,
    next_id,
    riding_insert,
    save_fields,
)
from live.messaging.models import Block, Conversation, Message, Participant, Preference
from live.text import clean_user_text, plain_text, render_markdown_lite, replace_mentions

User = get_user_model()


def max_length() -> int:
    return settings.MESSAGING_MAX_LENGTH


def max_participants() -> int:
    return settings.MESSAGING_MAX_PARTICIPANTS


# --- reading: who sees what ------------------------------------------------------------------------------------------

def _check_signed_in(user) -> None:
    """Conversation.DoesNotExist for anonymous and inactive people: no conversation exists for them."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise Conversation.DoesNotExist


def _conversation_pk(conversation) -> int:
    """A conversation's pk from a conversation or a pk in any form; a malformed one does not exist."""
    try:
        return int(getattr(conversation, "pk", conversation))
    except (TypeError, ValueError):
        raise Conversation.DoesNotExist from None


def get_participation(user, conversation_id) -> Participant:
    """The user's active participation, or Conversation.DoesNotExist (also for anonymous and for people who left)."""
    _check_signed_in(user)
    participant = (Participant.objects.select_related("conversation")
                   .filter(conversation_id=_conversation_pk(conversation_id), user=user, left_at__isnull=True).first())
    if participant is None:
        raise Conversation.DoesNotExist
    return participant


def blocks_of(user) -> dict[int, object]:
    """{blocked user pk: when} for the people `user` blocked."""
    return dict(Block.objects.filter(blocker=user).values_list("blocked_id", "created_at"))


def blockers_among(conversation_id: int, user) -> list[int]:
    """The conversation's active participants who blocked `user` (pks): nothing of what `user` does there is
    shown to them."""
    return list(Participant.objects.filter(
        conversation_id=conversation_id, left_at__isnull=True,
        user__messaging_blocks__blocked=user).values_list("user_id", flat=True))


def visible_messages(user, conversation):
    """The conversation's messages as `user` sees them: from when they joined, and without what people they blocked
    wrote after the block."""
    qs = Message.objects.filter(conversation=conversation).select_related("author", "added_by")
    visible_from = (Participant.objects.filter(conversation=conversation, user=user)
                    .values_list("visible_from_id", flat=True).first())
    if visible_from:
        qs = qs.filter(pk__gt=visible_from)
    for blocked_id, since in blocks_of(user).items():
        # System lines ("carol left the conversation") stay: they say who is still there.
        qs = qs.exclude(author_id=blocked_id, created_at__gt=since, kind=Message.Kind.MESSAGE)
    return qs


def unread_messages(user=None):
    """The messages of the outer participant's conversation that are unread for `user` (a pk; None: the outer
    participant): after their last read, not their own, not hidden, not system lines, and not from someone they
    blocked. One definition for the badge, the inbox, the notification of a new burst and the e-mail digest."""
    me = OuterRef("user_id") if user is None else user
    me_in_block = OuterRef(OuterRef("user_id")) if user is None else user
    return (Message.objects.filter(conversation=OuterRef("conversation_id"), id__gt=OuterRef("last_read_id"),
                                   kind=Message.Kind.MESSAGE, hidden_at__isnull=True)
            .exclude(author_id=me)
            .exclude(Exists(Block.objects.filter(blocker_id=me_in_block, blocked_id=OuterRef("author_id")))))


def participations(user):
    """The user's (or user pk's) active conversations, most recent activity first, each annotated with `unread`:
    one query."""
    user_id = getattr(user, "pk", user)
    unread = Subquery(unread_messages(user_id).order_by().values("conversation").annotate(n=Count("pk")).values("n")[:1],
                      output_field=IntegerField())
    return (Participant.objects.filter(user_id=user_id, left_at__isnull=True)
            .select_related("conversation")
            .annotate(unread=Coalesce(unread, Value(0)))
            .order_by("-conversation__last_message_at", "-conversation_id"))


def unread_count(user, conversation=None) -> int:
    """Unread messages of `user`, in all their conversations or in one."""
    if not getattr(user, "is_authenticated", False):
        return 0
    counts = unread_by_conversation(user.pk)
    if conversation is not None:
        return counts.get(getattr(conversation, "pk", conversation), 0)
    return sum(counts.values())


# --- the hot reads, written out ----------------------------------------------------------------------------------------
# A message's write and its pushes, and the header badge of every page, read these. Built by the ORM (nested
# subqueries with outer references), building and compiling them cost more CPU than the rest of the write
# (bench/write_cost, docs/performance.md); written out they cost a fraction. The same definition as
# unread_messages(), for the participant row `p`.

def _sql_unread(p: str) -> str:
    return f"""
        SELECT 1 FROM {Message._meta.db_table} m
        WHERE m.conversation_id = {p}.conversation_id AND m.id > {p}.last_read_id AND m.kind = '{Message.Kind.MESSAGE}'
          AND m.hidden_at IS NULL AND m.author_id <> {p}.user_id
          AND NOT EXISTS (SELECT 1 FROM {Block._meta.db_table} b
                          WHERE b.blocker_id = {p}.user_id AND b.blocked_id = m.author_id)"""


def unread_by_conversation(user_id: int) -> dict[int, int]:
    """{conversation pk: unread messages} over the person's active conversations: one statement."""
    return unread_by_users([user_id]).get(user_id, {})


def unread_by_users(user_ids) -> dict[int, dict[int, int]]:
    """unread_by_conversation() of several people in one statement (the badges a message's pushes show: its
    recipients', and its author's when replying read something): {user pk: {conversation pk: unread}}, people
    without an active conversation left out."""
    return badge_counts(user_ids)[0]


def badge_counts(user_ids, notified=()) -> tuple[dict[int, dict[int, int]], dict[int, int]]:
    """(unread_by_users(user_ids), {user pk: unread notifications} for the people of `notified`) in one statement:
    a message's pushes show both badges of a recipient whose new burst it notifies (S3's every reply), read once
    after the commit. The notifications count is notifications.services.unread_count's definition."""
    from live.notifications.models import Notification

    user_ids, notified = list(user_ids), list(notified)
    sql = f"""
        SELECT p.user_id, p.conversation_id, (SELECT count(*) FROM ({_sql_unread("p")}) unread)
        FROM {Participant._meta.db_table} p
        WHERE p.user_id IN ({", ".join(["%s"] * len(user_ids))}) AND p.left_at IS NULL"""
    if notified:  # their rows come with no conversation
        sql += f"""
        UNION ALL
        SELECT n.user_id, NULL, count(*) FROM {Notification._meta.db_table} n
        WHERE n.user_id IN ({", ".join(["%s"] * len(notified))}) AND n.read_at IS NULL GROUP BY n.user_id"""
    unread: dict[int, dict[int, int]] = {}
    notifications = dict.fromkeys(notified, 0)
    with hot_cursor() as cursor:
        cursor.execute(sql, [*user_ids, *notified])
        for user_id, conversation_id, count in cursor.fetchall():
            if conversation_id is None:
                notifications[user_id] = count
            else:
                unread.setdefault(user_id, {})[conversation_id] = count
    return unread, notifications


@functools.cache
def _participants_statement(vendor: str) -> tuple[str, list[list[str]]]:
    """The participants' read of `_participants_for_writing` and the attnames of each model's columns it selects (in
    the order participant, user, conversation, notification preferences): built once per process."""
    from live.notifications.models import Notification, Preferences

    models = [(Participant, "p"), (User, "u"), (Conversation, "c"), (Preferences, "n")]
    selected = [columns(model, alias) for model, alias in models]
    blocks = f"EXISTS (SELECT 1 FROM {Block._meta.db_table} b WHERE b.blocker_id = p.user_id AND b.blocked_id = %s)"
    if vendor == "postgresql":
        # And the ids of the message and of the notifications of a new burst, from their sequences, so that their
        # INSERTs ride with the events' statement (_post): the message's once (an uncorrelated subquery), a
        # notification's for each recipient who did not block the author and had nothing unread. A send refused
        # after this leaves a gap in the ids, as a rolled-back insert does.
        flags = f""", f.blocks_author, f.had_unread, (SELECT {next_id(Message)}),
               CASE WHEN p.user_id <> %s AND NOT f.blocks_author AND NOT f.had_unread
                    THEN {next_id(Notification)} END"""
        lateral = f"CROSS JOIN LATERAL (SELECT {blocks} AS blocks_author, EXISTS ({_sql_unread('p')}) AS had_unread) f"
    else:
        flags, lateral = f", {blocks}, EXISTS ({_sql_unread('p')}), NULL, %s", ""
    sql = f"""
        SELECT {", ".join(c for cols, _names in selected for c in cols)}{flags}
        FROM {Participant._meta.db_table} p
        JOIN {User._meta.db_table} u ON u.id = p.user_id
        JOIN {Conversation._meta.db_table} c ON c.id = p.conversation_id
        LEFT JOIN {Preferences._meta.db_table} n ON n.user_id = p.user_id
        {lateral}
        WHERE p.conversation_id = %s AND p.left_at IS NULL
        ORDER BY p.id"""
    return sql, [names for _cols, names in selected]


_LOCK_CONVERSATION = f"UPDATE {Conversation._meta.db_table} SET last_message_at = %s WHERE id = %s"


def _participants_for_writing(conversation_id: int, author, *, lock: bool = False) -> list[Participant]:
    """The active participants, each with its user and conversation loaded, `blocks_author`, `had_unread` and, for
    the others than `author`, `preferences` (their notification preferences, or None): one statement. The author's
    user is `author` itself, and their preferences are not read: nothing notifies them. On PostgreSQL each also
    has `message_id` (the new message's, taken from its sequence) and `notification_id` (a new burst's
    notification's, for those it notifies); None elsewhere.

    `lock`: the conversation's lock (`_lock_for_writing`) first, and Conversation.DoesNotExist when there is no such
    conversation. On PostgreSQL the locks and the read go in one round trip (`lock_then_read`: one pipeline of
    prepared statements): PostgreSQL runs them one after the other, and the read takes its snapshot once the lock is held,
    as if sent on its own after it (a single statement would not: its snapshot would predate the lock's wait)."""
    from live.notifications.models import Preferences

    db = connections[DEFAULT_DB_ALIAS]  # read once: each attribute read through `connection` costs a lookup
    sql, (p_names, u_names, c_names, n_names) = _participants_statement(db.vendor)
    # (Elsewhere than on PostgreSQL, the last %s is a NULL notification id: the same parameters.)
    params = ([author.pk, author.pk, conversation_id] if db.vendor == "postgresql"
              else [author.pk, None, conversation_id])
    with hot_cursor() as cursor:  # written out: the ORM's update and read cost more CPU than the write
        if lock:
            lock_params = [db.ops.adapt_datetimefield_value(timezone.now()), conversation_id]
            # The author's account first (a message under way while they are blocked slipped past the block's
            # hiding), then the conversation.
            _state, locked = lock_then_read(cursor, [account_lock(author),
                                                     (_LOCK_CONVERSATION, lock_params, lambda cursor: cursor.rowcount)],
                                            sql, params)
            check_can_send(author)
            if not locked:
                raise Conversation.DoesNotExist
        else:
            cursor.execute(sql, params)
        rows = cursor.fetchall()
    people, conversation = [], None
    at_u, at_c = len(p_names), len(p_names) + len(u_names)
    at_n = at_c + len(c_names)
    at_flags = at_n + len(n_names)
    for row in rows:
        participant = from_db(Participant, p_names, row[:at_u])
        if conversation is None:
            conversation = from_db(Conversation, c_names, row[at_c:at_n])
        participant.conversation = conversation
        if participant.user_id == author.pk:
            participant.user, participant.preferences = author, None
        else:
            participant.user = from_db(User, u_names, row[at_u:at_c])
            participant.preferences = (from_db(Preferences, n_names, row[at_n:at_flags])
                                       if row[at_n] is not None else None)
        participant.blocks_author, participant.had_unread = row[at_flags], row[at_flags + 1]
        participant.message_id, participant.notification_id = row[at_flags + 2], row[at_flags + 3]
        people.append(participant)
    return people


def others(conversation, user, *, active=True) -> list:
    """The other participants of a conversation (users), in the order they joined."""
    qs = conversation.participants.select_related("user").exclude(user=user).order_by("pk")
    if active:
        qs = qs.filter(left_at__isnull=True)
    return [p.user for p in qs]


def last_visible_message(user, conversation) -> Message | None:
    return visible_messages(user, conversation).filter(kind=Message.Kind.MESSAGE).order_by("-pk").first()


def seen_by(conversation) -> tuple[Message | None, list]:
    """The latest message and the participants other than its author who have read it."""
    latest = (Message.objects.filter(conversation=conversation, kind=Message.Kind.MESSAGE, hidden_at__isnull=True)
              .order_by("-pk").first())
    if latest is None:
        return None, []
    readers = (Participant.objects.filter(conversation=conversation, left_at__isnull=True, last_read_id__gte=latest.pk)
               .exclude(user_id=latest.author_id).select_related("user").order_by("last_read_at", "pk"))
    return latest, [p.user for p in readers]


def accepts_from(recipient) -> bool:
    pref = Preference.objects.filter(user=recipient).values_list("accept_from", flat=True).first()
    return pref != Preference.AcceptFrom.NOBODY


def preference_of(user) -> str:
    return Preference.objects.filter(user=user).values_list("accept_from", flat=True).first() or \
        Preference.AcceptFrom.EVERYONE


def may_start_with(author, recipient) -> bool:
    """Whether `author` may start a conversation with `recipient` or add them to one. Deliberately one boolean:
    the author learns "cannot write", never why."""
    return (recipient.is_active and not recipient.is_blocked and accepts_from(recipient)
            and not Block.objects.filter(blocker=recipient, blocked=author).exists())


# --- checks ------------------------------------------------------------------------------------------------------------

def check_can_send(user) -> None:
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_blocked:
        raise PermissionDenied(_("Your account cannot send messages."))


# Translated only when a body is refused (lazily): every message paid for their look-ups (#17).
_BODY = gettext_lazy("This message")
_BODY_MESSAGES = {"required": gettext_lazy("Write a message first."),
                  "too_long": gettext_lazy("A message is limited to %(max)s characters (this one has %(count)s).")}


def clean_body(body: str) -> str:
    """The body as stored (live.text's policy, in messaging's words)."""
    return clean_user_text(body, multiline=True, max_length=max_length(), field=_BODY, messages=_BODY_MESSAGES)


def parse_client_id(value) -> uuid.UUID:
    """The form's client message id; a missing one gets a fresh id (no retry protection, but no failure)."""
    if isinstance(value, uuid.UUID):
        return value
    if not value:
        return uuid.uuid4()
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(_("This form is out of date: reload the page and try again."), code="client_id") from None


def resolve_recipients(author, names) -> list:
    """Users from nicknames (or users), checked: not oneself, at most max_participants() - 1, each may be written to."""
    wanted, seen = [], set()
    for name in names:
        name = name.nickname if isinstance(name, User) else str(name).strip().lstrip("@").strip()
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            wanted.append(name)
            if len(wanted) + 1 > max_participants():  # a list of thousands is refused at once, not read to its end
                raise ValidationError(_("A conversation has at most %(max)d participants, you included.")
                                      % {"max": max_participants()}, code="too_many")
    if not wanted:
        raise ValidationError(_("Choose at least one person to write to."), code="no_recipient")
    if author.nickname.casefold() in seen:
        raise ValidationError(_("You cannot write to yourself."), code="self")
    found = {u.nickname.casefold(): u for u in User.objects.named(*wanted)}
    recipients = []
    for name in wanted:
        user = found.get(name.casefold())
        if user is None:
            raise ValidationError(_("No one is called “%(name)s”.") % {"name": name}, code="unknown")
        if not may_start_with(author, user):
            raise ValidationError(_("You cannot write to %(name)s.") % {"name": user.nickname}, code="cannot_write")
        recipients.append(user)
    return recipients


def find_one_to_one(a, b) -> Conversation | None:
    return (Conversation.objects.filter(is_group=False)
            .filter(participants__user=a, participants__left_at__isnull=True)
            .filter(participants__user=b, participants__left_at__isnull=True).first())


# --- writing -----------------------------------------------------------------------------------------------------------

def start_conversation(*, author, recipients, body: str, client_id=None) -> Message:
    """Write to one person (their existing one-to-one conversation is reused) or start a group with up to
    max_participants() - 1 others. Returns the message. Idempotent on (author, client_id), as send_message: a retry
    returns the same message, also when it finds the author at their rate limit or arrives while the first is being
    written (the unique constraint decides, and the retry's conversation is rolled back)."""
    check_can_send(author)
    client_id = parse_client_id(client_id)
    try:
        return _start(author=author, recipients=recipients, body=body, client_id=client_id)
    except (IntegrityError, ratelimit.RateLimited):
        existing = Message.objects.filter(author=author, client_id=client_id).select_related("conversation").first()
        if existing is None:
            raise
        return existing


@transaction.atomic
def _start(*, author, recipients, body: str, client_id) -> Message:
    existing = Message.objects.filter(author=author, client_id=client_id).select_related("conversation").first()
    if existing is not None:
        return existing
    people = resolve_recipients(author, recipients)
    body = clean_body(body)
    conversation = None
    if len(people) == 1:
        _lock_pair(author, people[0])
        conversation = find_one_to_one(author, people[0])
    if conversation is None:
        ratelimit.enforce("conversation", author)
        conversation = Conversation.objects.create(created_by=author, is_group=len(people) > 1)
        Participant.objects.bulk_create([Participant(conversation=conversation, user=u) for u in [author, *people]])
    else:
        ratelimit.enforce("message", author)
    me, recipients = _lock_for_writing(conversation.pk, author)
    return _post(me=me, recipients=recipients, author=author, body=body, client_id=client_id)


def _lock_pair(a, b) -> None:
    """Until the transaction ends, the one-to-one of `a` and `b` is looked up and created by one writer at a time:
    alice writing to bob while bob writes to alice make one conversation, not two. On PostgreSQL (a transaction-level
    advisory lock on the pair); elsewhere (SQLite, IMMEDIATE transactions) writers are serialized already."""
    if connection.vendor != "postgresql":
        return
    low, high = sorted([a.pk, b.pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"messaging.one_to_one:{low}:{high}"])


def send_message(*, author, conversation, body: str, client_id=None) -> Message:
    """Post in a conversation the author takes part in (anyone else: Conversation.DoesNotExist). Idempotent on
    (author, client_id): a retry of a send that went through returns that message, also when the retry finds the
    sender at their rate limit or arrives while the first is being written (the unique constraint decides)."""
    check_can_send(author)
    client_id = parse_client_id(client_id)
    conversation_id = _conversation_pk(conversation)
    try:
        return _send(author=author, conversation_id=conversation_id, body=body, client_id=client_id)
    except (IntegrityError, ratelimit.RateLimited):
        existing = Message.objects.filter(author=author, client_id=client_id).first()
        if existing is None:
            raise
        if existing.conversation_id != conversation_id:
            raise ValidationError(_("This form is out of date: reload the page and try again."),
                                  code="client_id") from None
        return existing


@transaction.atomic
def _send(*, author, conversation_id: int, body: str, client_id) -> Message:
    me, recipients = _lock_for_writing(conversation_id, author)
    body = clean_body(body)
    if not me.conversation.is_group and any(p.blocks_author for p in recipients):
        raise PermissionDenied(_("You cannot write in this conversation."))
    ratelimit.enforce("message", author)
    return _post(me=me, recipients=recipients, author=author, body=body, client_id=client_id)


def _lock_for_writing(conversation_id: int, author) -> tuple[Participant, list[Participant]]:
    """Lock the conversation and read its active participants: (the author's participation, the others').

    The first statement takes the conversation's row lock (and moves it up the inboxes): messages get their pk in
    the order their events get their seq, and a concurrent retry of the same send waits here, then collides on
    (author, client_id). The participants are read after the lock, with what the message's write and pushes
    need: their user and notification preferences, whether they blocked the author, whether they had anything
    unread (`had_unread`: a new burst notifies them; an author who had is marked read by writing). On PostgreSQL
    both statements share one round trip, the read still a statement of its own, after the lock (tested by
    `test_a_writer_waiting_for_the_lock_reads_what_the_previous_one_committed`)."""
    people = _participants_for_writing(conversation_id, author, lock=True)
    me = next((p for p in people if p.user_id == author.pk), None)
    if me is None:
        raise Conversation.DoesNotExist
    return me, [p for p in people if p is not me]


def _insert_message(message: Message, *, reader: Participant | None) -> Message:
    """Insert `message` where its id was not taken beforehand (not PostgreSQL: see _post); when its author had
    unread messages in the conversation (`reader`: their participation), replying reads them."""
    insert(message)
    if reader is not None:
        reader.last_read_id, reader.last_read_at = message.pk, timezone.now()
        save_fields(reader, ["last_read_id", "last_read_at"])
    return message


def _post(*, me: Participant, recipients: list[Participant], author, body: str, client_id) -> Message:
    """Write the message (the conversation is locked) and its events:

    - `message.posted` on the conversation: every participant's open conversation pages, the author's other tabs;
    - `messages.unread` on the personal stream of each recipient who did not block the author (their header badge
      and inbox row); when the message starts an unread burst for them, the notification is recorded and rides on
      that same event (folded: no `notification.created`);
    - `messages.unread` on the author's personal stream only when writing changed their badge (they had unread
      messages here, which replying marks read).

    The events share what the write already read (the message, the participants, who blocked the author), so their
    first renderings read nothing again (Rendering.once); a replay reads afresh from the log."""
    from live.notifications import services as notifications

    db = connections[DEFAULT_DB_ALIAS]  # read once: each attribute read through `connection` costs a lookup
    conversation = me.conversation
    message = Message(conversation=conversation, author=author, body=body, body_html=render_markdown_lite(body),
                      client_id=client_id)
    riding = None
    if me.message_id is None:  # not PostgreSQL: inserted now
        _insert_message(message, reader=me if me.had_unread else None)
    else:
        # Its id taken with the participants: the message (and its reader's position, and the notifications of a
        # new burst) ride with the events' statement (streams.together), one statement for the whole write.
        riding = [riding_insert(message, me.message_id)]
        if me.had_unread:  # replying reads what they had unread
            now = timezone.now()
            riding.append((f"UPDATE {Participant._meta.db_table} SET last_read_id = %s, last_read_at = %s "
                           f"WHERE id = %s", [message.pk, db.ops.adapt_datetimefield_value(now), me.pk]))
            me.last_read_id, me.last_read_at = message.pk, now
    # To whom it is not shown (renderers._not_shown_to): those who blocked its author. Nobody was added after it:
    # its id is taken under the conversation's lock, which adding people takes too.
    blockers = [p.user_id for p in recipients if p.blocks_author]
    # A new message is the conversation's latest, seen by nobody yet.
    reads = {"posted": (message, (message, []), [p.user for p in [me, *recipients]], blockers),
             # Whose badges this message's events show: their counts are read once for all of them, after the commit.
             "badges": [me.user_id] * bool(me.had_unread) + [p.user_id for p in recipients if not p.blocks_author],
             # ...and the notifications badge of those whose new burst it notifies, in the same statement.
             "notified": [p.user_id for p in recipients if not p.blocks_author and not p.had_unread]}
    with streams.together(riding):  # the message's events in one statement (and the message, see above)
        events = [streams.append(conversation.stream_key, "message.posted", message=message.pk)]
        if me.had_unread:
            events.append(streams.append(author.stream_key, "messages.unread", conversation=conversation.pk))
        for participant in recipients:
            if participant.blocks_author:
                continue  # they do not see it: no badge, no inbox change, no notification
            user = participant.user
            folded = {}
            if not participant.had_unread:
                # The first unread message of a burst notifies; the next ones wait until they have read. No
                # message text in the notification: the list shows on pages others may glance at.
                notification = notifications.record(
                    user=user, kind="message", url=conversation.get_absolute_url(),
                    text=gettext_lazy("%(name)s sent you a private message"), params={"name": author.public_name},
                    subject=f"message:{message.pk}", preferences=participant.preferences,
                    **({"pk": participant.notification_id, "riding": riding} if riding is not None else {}))
                folded["notification"] = notification.pk
                reads[f"notification:{notification.pk}"] = notification
            events.append(streams.append(user.stream_key, "messages.unread", conversation=conversation.pk,
                                         **folded))
    for event in events:
        event.reads = reads
    return message


@transaction.atomic
def mark_read(*, user, conversation, upto: int | None = None) -> bool:
    """Record that `user` has seen the conversation up to message `upto` (default: the latest someone else wrote;
    their own messages never count as unread, and writing does not move their position unless it read something,
    see _post). Everyone on the conversation sees "seen by"; the reader's badge and inbox update on every tab.
    False when nothing changed."""
    _check_signed_in(user)
    # The participation, checked, locked and read with its conversation: one statement.
    participant = (Participant.objects.select_related("conversation").select_for_update(of=("self",))
                   .filter(conversation_id=_conversation_pk(conversation), user=user, left_at__isnull=True).first())
    if participant is None:
        raise Conversation.DoesNotExist
    conversation = participant.conversation
    latest = (Message.objects.filter(conversation=conversation).exclude(author=user).order_by("-pk")
              .values_list("pk", flat=True).first())
    target = latest or 0
    if upto is not None:
        target = min(int(upto), target)
    if target <= participant.last_read_id:
        return False
    ratelimit.enforce("read", user)
    participant.last_read_id = target
    participant.last_read_at = timezone.now()
    participant.digest_sent_at = None
    participant.save(update_fields=["last_read_id", "last_read_at", "digest_sent_at"])
    with streams.together():
        streams.append(conversation.stream_key, "messages.seen", participant=participant.pk)
        streams.append(user.stream_key, "messages.unread", conversation=conversation.pk)
    return True


@transaction.atomic
def leave_conversation(*, user, conversation) -> None:
    """Leave a group: the others see a "left" line; the leaver's pages and sockets lose it at once."""
    participant = get_participation(user, getattr(conversation, "pk", conversation))
    conversation = participant.conversation
    if not conversation.is_group:
        raise ValidationError(_("You can only leave a group conversation."), code="not_group")
    ratelimit.enforce("default", user)
    Conversation.objects.select_for_update().get(pk=conversation.pk)
    participant.left_at = timezone.now()
    participant.save(update_fields=["left_at"])
    line = Message.objects.create(conversation=conversation, author=user, kind=Message.Kind.LEFT)
    # The sockets following the conversation re-check their subscriptions on this event, before any later one of
    # the conversation (a stream's events arrive in order): the leaver's drop it, whatever the layer lost or
    # delayed on other streams, and nothing written after the leave reaches them.
    streams.append(conversation.stream_key, "message.posted", message=line.pk, _control={"reauthorize": True})
    # The leaver's other sockets (the inbox) re-check theirs too: the conversation stream is refused from now on.
    streams.append(user.stream_key, "messages.unread", conversation=conversation.pk,
                   _control={"reauthorize": True})


@transaction.atomic
def add_participants(*, actor, conversation, recipients) -> list:
    """Add people to a group (their "who may write to me" setting and blocks are honoured, as when starting one).
    They see what is written from now on, not the earlier messages."""
    check_can_send(actor)
    participant = get_participation(actor, getattr(conversation, "pk", conversation))
    conversation = Conversation.objects.select_for_update().get(pk=participant.conversation_id)
    if not conversation.is_group:
        raise ValidationError(_("People can only be added to a group conversation."), code="not_group")
    people = resolve_recipients(actor, recipients)
    active = dict(conversation.participants.filter(left_at__isnull=True).values_list("user_id", "pk"))
    for person in people:
        if person.pk in active:
            raise ValidationError(_("%(name)s is already in this conversation.") % {"name": person.nickname},
                                  code="already")
    if len(active) + len(people) > max_participants():
        raise ValidationError(_("A conversation has at most %(max)d participants, you included.")
                              % {"max": max_participants()}, code="too_many")
    ratelimit.enforce("conversation", actor)
    latest = Message.objects.filter(conversation=conversation).order_by("-pk").values_list("pk", flat=True).first()
    if latest is not None:
        _forget_renderings_of_earlier_messages(conversation)
    now = timezone.now()
    from live.notifications.services import notify

    for person in people:
        Participant.objects.update_or_create(conversation=conversation, user=person, defaults={
            "left_at": None, "joined_at": now, "visible_from_id": latest or 0, "last_read_id": latest or 0,
            "last_read_at": None, "digest_sent_at": None})
        line = Message.objects.create(conversation=conversation, author=person, kind=Message.Kind.ADDED,
                                      added_by=actor)
        streams.append(conversation.stream_key, "message.posted", message=line.pk)
        notify(user=person, kind="message", url=conversation.get_absolute_url(),
               text=gettext_lazy("%(name)s added you to a conversation"), params={"name": actor.public_name})
    # Every participant's inbox shows the new names; the newcomers get the conversation in theirs.
    _touch_participants(conversation)
    return people


def _forget_renderings_of_earlier_messages(conversation) -> None:
    """The earlier messages' events, rendered before the newcomers took part (nothing in them is hidden from them),
    must not be reused for them: the hubs' memories and the replay cache render again, for the participants of now,
    what an event touching the same things (refs) follows. One event naming the messages of the events a replay can
    still reach (a longer one resets)."""
    from live.models import Event

    touched = (Event.objects.filter(stream=conversation.stream_key, kind__in=["message.posted", "message.changed"])
               .order_by("-seq").values_list("data__message", flat=True)[:settings.LIVE_REPLAY_LIMIT])
    streams.append(conversation.stream_key, "messages.readers_changed", message=sorted(set(touched)))


@transaction.atomic
def set_preference(*, user, accept_from: str) -> Preference:
    """Who may start a conversation with `user`: everyone or nobody."""
    if accept_from not in Preference.AcceptFrom.values:
        raise ValidationError(_("Choose who may write to you."), code="invalid")
    ratelimit.enforce("default", user)
    pref, _created = Preference.objects.update_or_create(user=user, defaults={"accept_from": accept_from})
    return pref


@transaction.atomic
def block_user(*, blocker, blocked) -> Block:
    """`blocked` can no longer start a conversation with `blocker` nor add them to one, nor write in their
    one-to-one conversation; their new messages in shared groups are not shown to `blocker`."""
    if not getattr(blocker, "is_authenticated", False):
        raise PermissionDenied
    if blocked is None or blocked.pk == blocker.pk:
        raise ValidationError(_("You cannot block yourself."), code="self")
    ratelimit.enforce("default", blocker)
    block, _created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    return block


@transaction.atomic
def unblock_user(*, blocker, blocked) -> bool:
    ratelimit.enforce("default", blocker)
    return Block.objects.filter(blocker=blocker, blocked=blocked).delete()[0] > 0


# --- moderation hand-off -------------------------------------------------------------------------------------------------

def _touch_participants(conversation) -> None:
    for user_id in conversation.participants.filter(left_at__isnull=True).values_list("user_id", flat=True):
        streams.append(f"user.{user_id}", "messages.unread", conversation=conversation.pk)


@transaction.atomic
def hide_message(*, message, actor=None, reason: str = "") -> Message:
    """Hide a reported message (moderation decides who may; this only writes and tells the open pages)."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.hidden_at is None:
        message.hidden_at = timezone.now()
        message.hidden_reason = reason or ""
        message.save(update_fields=["hidden_at", "hidden_reason"])
        streams.append(message.conversation.stream_key, "message.changed", message=message.pk)
        _touch_participants(message.conversation)
    return message


@transaction.atomic
def unhide_message(*, message, actor=None) -> Message:
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.hidden_at is not None:
        message.hidden_at = None
        message.hidden_reason = ""
        message.save(update_fields=["hidden_at", "hidden_reason"])
        streams.append(message.conversation.stream_key, "message.changed", message=message.pk)
        _touch_participants(message.conversation)
    return message


@transaction.atomic
def hide_all_by(user, *, actor=None, reason: str = "") -> int:
    """Hide every visible message of a user blocked by moderation."""
    count = 0
    for message in Message.objects.filter(author=user, kind=Message.Kind.MESSAGE, hidden_at__isnull=True):
        hide_message(message=message, actor=actor, reason=reason)
        count += 1
    return count


# --- privacy: export and search -------------------------------------------------------------------------------------------

def export_for(user) -> dict:
    """Everything `user` may see in messaging, as JSON-ready data: their conversations and messages, their
    preference and their blocks. Nothing of conversations they are not (or no longer) part of."""
    conversations = []
    for participant in participations(user):
        conversation = participant.conversation
        people = [p.user.nickname for p in conversation.participants.select_related("user").order_by("pk")
                  if p.left_at is None]
        messages = []
        for message in visible_messages(user, conversation).order_by("pk"):
            item = {"id": message.pk, "author": message.author.nickname, "kind": message.kind,
                    "created_at": message.created_at.isoformat()}
            if message.kind == Message.Kind.MESSAGE:
                if message.is_hidden and message.author_id != user.pk:
                    item["hidden"] = True
                else:
                    item["body"] = message.body
                    item["hidden"] = message.is_hidden
            messages.append(item)
        conversations.append({
            "id": conversation.pk, "group": conversation.is_group, "participants": people,
            "created_at": conversation.created_at.isoformat(), "messages": messages,
        })
    return {
        "user": user.nickname,
        "exported_at": timezone.now().isoformat(),
        "accept_from": preference_of(user),
        "blocked": list(Block.objects.filter(blocker=user).values_list("blocked__nickname", flat=True)),
        "conversations": conversations,
    }


def search(user, query: str, limit: int = 50) -> list[Message]:
    """Messages matching `query` in the user's own conversations only."""
    query = (query or "").strip()[:200]
    if len(query) < 2 or not getattr(user, "is_authenticated", False):
        return []
    mine = Participant.objects.filter(user=user, left_at__isnull=True).values_list("conversation_id", "visible_from_id")
    if not mine:
        return []
    where = Q(*[Q(conversation_id=cid, pk__gt=since) for cid, since in mine], _connector=Q.OR)
    qs = (Message.objects.filter(where, kind=Message.Kind.MESSAGE, hidden_at__isnull=True, body__icontains=query)
          .select_related("author", "conversation").order_by("-pk"))
    for blocked_id, since in blocks_of(user).items():
        qs = qs.exclude(author_id=blocked_id, created_at__gt=since)
    return list(qs[:limit])


def preview(user, conversation) -> str:
    return preview_of(last_visible_message(user, conversation))


def preview_of(message) -> str:
    """The inbox preview of a conversation's last visible message (None: empty)."""
    if message is None:
        return ""
    if message.is_hidden:
        return _("Message hidden by moderation")
    if message.author.is_erased and message.kind == Message.Kind.MESSAGE:
        return _("Message deleted.")
    return plain_text(message.body, limit=90)


def erase_author(*, user, former: dict) -> None:
    """An erasure step (live.features): `user`'s messages stay in their conversations without their text (the others
    read "message deleted" from "Deleted participant", at once on open pages and in their inboxes); they leave every
    conversation; their preference and blocks, both ways, go; their @mentions in others' messages become the erased
    name. One event per conversation, not per message: thousands of messages stay a few pushes."""
    by_conversation: dict[int, list[int]] = {}
    for conversation_id, pk in (Message.objects.filter(author=user, kind=Message.Kind.MESSAGE)
                                .values_list("conversation_id", "pk").order_by("pk")):
        by_conversation.setdefault(conversation_id, []).append(pk)
    Message.objects.filter(author=user).update(body="", body_html="")
    for conversation_id, pks in by_conversation.items():
        # `message`: every erased message, so a socket's remembered frames of them are never replayed (refs).
        streams.append(f"conversation.{conversation_id}", "messages.author_erased", author=user.pk, message=pks)
    # The system lines that name them: "zoe joined", "zoe left", and "carol was added by zoe" (by the account; the
    # lines older than `added_by` whose adder no account matched, by the name they kept).
    by_name = Q(kind=Message.Kind.ADDED, added_by__isnull=True, body=former["nickname"])
    lines = Message.objects.filter(Q(author=user) | Q(added_by=user) | by_name).exclude(kind=Message.Kind.MESSAGE)
    changed = list(lines.values_list("conversation_id", "pk"))
    Message.objects.filter(by_name).update(body="")
    erased = erased_name_stored()
    for message in Message.objects.filter(body__icontains=f"@{former['nickname']}", kind=Message.Kind.MESSAGE):
        body = replace_mentions(message.body, former["nickname"], erased)
        if body != message.body:
            message.body, message.body_html = body, render_markdown_lite(body)
            message.save(update_fields=["body", "body_html"])
            changed.append((message.conversation_id, message.pk))
    for conversation_id, pk in changed:
        streams.append(f"conversation.{conversation_id}", "message.changed", message=pk)
    conversations = set(Participant.objects.filter(user=user, left_at__isnull=True)
                        .values_list("conversation_id", flat=True))
    Participant.objects.filter(user=user, left_at__isnull=True).update(left_at=timezone.now())
    # The others' inboxes: the conversation's title and last message no longer name them.
    for conversation in Conversation.objects.filter(pk__in=conversations | set(by_conversation)).order_by("pk"):
        _touch_participants(conversation)
    Preference.objects.filter(user=user).delete()
    Block.objects.filter(Q(blocker=user) | Q(blocked=user)).delete()
