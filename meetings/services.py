"""The only writers of meetings data. Views, the console, the admin and the demo call these.

Each service checks permission and input, writes, then appends an event to each audience's stream that must
see the change (`meeting.<pk>` phones and public pages, `meeting.<pk>.screen` the projector,
`meeting.<pk>.console` the facilitators), all in one transaction: the push happens after commit, never before,
never for a rolled-back change. Events carry ids only; meetings/renderers.py renders them from the database.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from live import effects, ratelimit, streams
from live.accounts.models import RoleAssignment, erased_name_stored, nickname_validator
from live.database import (
    account_lock,
    first_if_sent_twice,
    hot_cursor,
    lock_then_read,
    next_id,
    riding_or_inserted,
)
from live.moderation import queue as moderation_queue
from live.moderation.registry import REASON_MAX_LENGTH
from live.text import clean_user_text, replace_mentions
from meetings import embeds, notifications, phones, reactions, words
from meetings.frames import Frames
from meetings.models import (
    JOIN_CODE_ALPHABET,
    JOIN_CODE_LENGTH,
    AgendaItem,
    Contribution,
    ContributionVote,
    Meeting,
    Participant,
    Poll,
    PollAnswer,
    PollChoice,
    ReactionCount,
    Registration,
    SpeakerRequest,
    WordEntry,
    WordRule,
    forgotten_token,
)
from meetings.permissions import can_create_meeting, can_moderate_words, is_facilitator
from meetings.sessions import forget_participant, guest_meetings, session_participant

PUBLIC, SCREEN, CONSOLE = "public", "screen", "console"
EVERYONE = (PUBLIC, SCREEN, CONSOLE)
# The changes a reaction tap relies on (the session open, the current agenda item: meetings/phones.py).
PHONE_FACTS = {"session.changed", "agenda.changed", "meeting.changed"}


def _emit(meeting: Meeting, kind: str, parts=EVERYONE, known: dict | None = None, riding: list | None = None,
          **ids) -> None:
    # One change, one event per audience: after commit, the renderers of these events share what they load (the
    # meeting, the contribution...) instead of querying it again for each audience (meetings/renderers.py), and
    # `known` hands them what this write already holds, as it commits. `riding`: the write's own statements, sent
    # with the events' (streams.append_together).
    streams.append_together([meeting.stream_key if part == PUBLIC else f"{meeting.stream_key}.{part}"
                             for part in parts], kind, known=known, riding=riding, **ids)
    if kind in PHONE_FACTS:
        phones.changed(meeting.pk)


def _locked(meeting: Meeting) -> Meeting:
    """The meeting row, locked for this transaction: serializes the writes that must see its latest state
    (pinning one contribution, opening a session, slow mode).

    FOR NO KEY UPDATE, not FOR UPDATE: it still serializes these writers, but does not block the foreign-key checks
    of rows referencing the meeting (PostgreSQL takes FOR KEY SHARE on the meeting when a transaction that inserted
    a contribution commits). With FOR UPDATE, approving while a phone posted under pre-moderation deadlocked: the
    approval held the meeting and waited for the console stream's counter row, which the post held while its
    commit waited for the meeting (S9 benchmark, HTTP 500 on both sides)."""
    return Meeting.objects.select_for_update(no_key=True).get(pk=meeting.pk)


# --- checks ------------------------------------------------------------------------------------------------------

def ensure_facilitator(actor, meeting: Meeting) -> None:
    if not is_facilitator(actor, meeting):
        raise PermissionDenied(_("Only the meeting's facilitators can do this."))


def ensure_can_create_meeting(actor) -> None:
    if not can_create_meeting(actor):
        raise PermissionDenied(_("Only facilitators can create meetings."))


def check_facilitator(actor, meeting: Meeting) -> None:
    ensure_facilitator(actor, meeting)
    ratelimit.enforce("facilitate", actor)


# live.text's policy, worded for the field it is shown under.
user_text = partial(clean_user_text, messages={
    "required": gettext_lazy("This field is required."),
    "too_long": gettext_lazy("At most %(max)s characters (you typed %(count)s).")})


def check_live(meeting: Meeting) -> None:
    if not meeting.live_open:
        raise ValidationError(_("The live session is closed."))


def check_participant(participant: Participant | None, meeting: Meeting | int | None = None) -> Participant:
    """`participant` may act in `meeting` (a Meeting or its pk), if given."""
    if participant is None:
        raise PermissionDenied(_("Join the meeting first."))
    if meeting is not None and participant.meeting_id != getattr(meeting, "pk", meeting):
        raise PermissionDenied(_("You are not a participant of this meeting."))
    if participant.user_id:
        check_not_blocked(participant.user)
    return participant


def guests_closed_message() -> str:
    return _("This meeting now takes signed-in participants only: sign in to take part.")


def check_guest_allowed(participant: Participant, meeting: Meeting | None = None) -> None:
    """A guest (no account) takes part only while the meeting allows anonymous participants: switched off during
    the meeting, a guest's next write is refused (what they wrote stays). `meeting`: read when not given, and only
    for a guest."""
    if participant.user_id is not None:
        return
    allowed = meeting.allow_anonymous if meeting is not None else \
        Meeting.objects.values_list("allow_anonymous", flat=True).get(pk=participant.meeting_id)
    if not allowed:
        raise PermissionDenied(guests_closed_message())


def check_not_blocked(user) -> None:
    if not user.is_active or user.is_blocked:
        raise PermissionDenied(_("Your account is blocked."))


def _participant_key(participant: Participant):
    return participant.user if participant.user_id else f"participant:{participant.pk}"


# --- meetings ------------------------------------------------------------------------------------------------------

MEETING_FIELDS = ("title", "description", "kind", "place", "online_url", "stream_url", "decidim_url", "starts_at",
                  "ends_at",
                  "registration_enabled", "capacity", "registration_code", "allow_anonymous", "premoderation")


def _check_meeting(meeting: Meeting) -> None:
    meeting.title = user_text(meeting.title, multiline=False, key="title", max_length=200)
    meeting.description = user_text(meeting.description, multiline=True, key="description", max_length=5000,
                                    required=False)
    if meeting.starts_at and meeting.ends_at and meeting.ends_at < meeting.starts_at:
        raise ValidationError({"ends_at": _("The meeting cannot end before it starts.")})
    if meeting.kind in (Meeting.Kind.IN_PERSON, Meeting.Kind.HYBRID) and not meeting.place.strip():
        raise ValidationError({"place": _("An in-person or hybrid meeting needs a place.")})
    if meeting.kind in (Meeting.Kind.ONLINE, Meeting.Kind.HYBRID) and not meeting.online_url.strip():
        raise ValidationError({"online_url": _("An online or hybrid meeting needs an online link.")})
    if meeting.stream_url:
        embeds.embed_for(meeting.stream_url)  # an allowed host, or a clear error on the field
    meeting.full_clean(exclude=["screen_token", "join_code"])


AGENDA_ITEM_MAX_MINUTES = 24 * 60


def check_agenda_size(count: int) -> None:
    """At most MEETINGS_MAX_AGENDA_ITEMS items: every phone renders the whole agenda."""
    cap = settings.MEETINGS_MAX_AGENDA_ITEMS
    if count > cap:
        raise ValidationError({"agenda": _("An agenda has at most %(max)s items (this one has %(count)s).")
                               % {"max": cap, "count": count}})


def parse_agenda(text: str) -> list[tuple[str, int]]:
    """ "Title | 20" per line -> [("Title", 20)]; the duration is optional, at most AGENDA_ITEM_MAX_MINUTES; at most
    MEETINGS_MAX_AGENDA_ITEMS lines (counted before any is read)."""
    lines = (text or "").splitlines()
    check_agenda_size(sum(1 for line in lines if line.strip()))
    items = []
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        title, _sep, minutes = line.rpartition("|") if "|" in line else (line, "", "")
        title, minutes = title.strip(), minutes.strip()
        # ASCII digits only: str.isdigit() also accepts "²" or "٣", which int() refuses or reads unexpectedly.
        if minutes and not (minutes.isascii() and minutes.isdigit()):
            raise ValidationError({"agenda": _("Line %(n)s: the duration must be a number of minutes.") % {"n": number}})
        # Length first: int() refuses a string of more than 4300 digits (ValueError).
        if minutes and (len(minutes.lstrip("0")) > 4 or int(minutes) > AGENDA_ITEM_MAX_MINUTES):
            raise ValidationError({"agenda": _("Line %(n)s: the duration must be at most %(max)s minutes.")
                                   % {"n": number, "max": AGENDA_ITEM_MAX_MINUTES}})
        title = user_text(title, multiline=False, key="agenda", max_length=200)
        items.append((title, int(minutes or 0)))
    return items


def _set_agenda(meeting: Meeting, items: list[tuple[str, int]]) -> None:
    existing = list(meeting.agenda_items.order_by("position", "pk"))
    for position, (title, minutes) in enumerate(items):
        if position < len(existing):
            item = existing[position]
            if (item.title, item.duration_minutes, item.position) != (title, minutes, position):
                item.title, item.duration_minutes, item.position = title, minutes, position
                item.save(update_fields=["title", "duration_minutes", "position"])
        else:
            AgendaItem.objects.create(meeting=meeting, title=title, duration_minutes=minutes, position=position)
    for item in existing[len(items):]:
        item.delete()


def _set_facilitators(meeting: Meeting, users) -> None:
    wanted = {user.pk for user in users}
    current = set(RoleAssignment.objects.filter(role="facilitator", space=meeting.space).values_list("user", flat=True))
    RoleAssignment.objects.filter(role="facilitator", space=meeting.space, user__in=current - wanted).delete()
    for pk in wanted - current:
        RoleAssignment.objects.create(user_id=pk, role="facilitator", space=meeting.space)
    # A removed facilitator's open console stops receiving the moderation queue at once: their sockets close (on
    # their own stream), and the consoles re-check before anything written on the console after the removal (on
    # the console's stream, in its order, however late the first arrives).
    from live.accounts.services import roles_changed

    removed = list(get_user_model().objects.filter(pk__in=current - wanted))
    for user in removed:
        roles_changed(user=user, revoked=True)
    if removed:
        streams.append(meeting.console_stream_key, "facilitators.changed", _control={"reauthorize": True})


def facilitators(meeting: Meeting):
    return get_user_model().objects.filter(role_assignments__role="facilitator",
                                           role_assignments__space=meeting.space).order_by("nickname")


@transaction.atomic
def create_meeting(*, actor, agenda=(), facilitators=(), **fields) -> Meeting:
    """Create a meeting; its creator and `facilitators` facilitate it."""
    ensure_can_create_meeting(actor)
    agenda = list(agenda)
    check_agenda_size(len(agenda))
    ratelimit.enforce("facilitate", actor)
    meeting = Meeting(created_by=actor, screen_token=secrets.token_urlsafe(32),
                      **{k: v for k, v in fields.items() if k in MEETING_FIELDS})
    _check_meeting(meeting)
    meeting.save()
    _set_agenda(meeting, agenda)
    _set_facilitators(meeting, {actor, *facilitators})
    return meeting


@transaction.atomic
def update_meeting(*, actor, meeting: Meeting, agenda=None, facilitators=None, **fields) -> Meeting:
    ensure_facilitator(actor, meeting)
    if agenda is not None:  # refused before the rate limit counts the attempt
        agenda = list(agenda)
        check_agenda_size(len(agenda))
    check_facilitator(actor, meeting)
    meeting = _locked(meeting)
    guests_were_allowed = meeting.allow_anonymous
    for name, value in fields.items():
        if name in MEETING_FIELDS:
            setattr(meeting, name, value)
    _check_meeting(meeting)
    meeting.save()
    if agenda is not None:
        _set_agenda(meeting, list(agenda))
    if facilitators is not None:
        _set_facilitators(meeting, set(facilitators) | {actor})
    # Guests switched off here too: said to the phones as from the console (update_session_settings).
    _emit(meeting, "meeting.changed", **({"guests_closed": True} if guests_were_allowed and not meeting.allow_anonymous
                                        else {}))
    return meeting


# --- registration ------------------------------------------------------------------------------------------------

@transaction.atomic
def register(*, user, meeting: Meeting, code: str = "") -> Registration:
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to register."))
    ratelimit.enforce("default", user)
    meeting = _locked(meeting)  # capacity: two last-seat registrations must not both succeed
    if not meeting.registration_enabled:
        raise ValidationError(_("Registration is not open for this meeting."))
    if meeting.is_past:
        raise ValidationError(_("This meeting is over."))
    if meeting.registration_code:
        # Wrong codes count per person; past the quota no code is checked (not even the right one: no oracle).
        wait = ratelimit.blocked_for("registration_code", user)
        if wait:
            raise ratelimit.RateLimited(wait, "registration_code")
        if not secrets.compare_digest((code or "").strip().upper().encode(),
                                      meeting.registration_code.strip().upper().encode()):
            ratelimit.hit("registration_code", user)
            raise ValidationError({"code": _("Wrong registration code.")})
    if meeting.registrations.filter(user=user).exists():
        raise ValidationError(_("You are already registered."))
    if meeting.capacity is not None and meeting.registrations.count() >= meeting.capacity:
        raise ValidationError(_("The meeting is full."))
    registration = Registration.objects.create(meeting=meeting, user=user)
    _emit(meeting, "registration.changed", parts=(PUBLIC,))
    return registration


@transaction.atomic
def unregister(*, user, meeting: Meeting) -> None:
    ratelimit.enforce("default", user)
    deleted, _rows = Registration.objects.filter(meeting=meeting, user=user).delete()
    if not deleted:
        raise ValidationError(_("You were not registered."))
    _emit(meeting, "registration.changed", parts=(PUBLIC,))


# --- closing report ------------------------------------------------------------------------------------------------

@transaction.atomic
def save_report(*, actor, meeting: Meeting, minutes: str, attendees: int | None, publish: bool) -> Meeting:
    check_facilitator(actor, meeting)
    meeting = _locked(meeting)
    meeting.report_minutes = user_text(minutes, multiline=True, key="report_minutes", max_length=20000,
                                      required=publish)
    if attendees is not None and attendees < 0:
        raise ValidationError({"report_attendees": _("The attendee count cannot be negative.")})
    if attendees is not None:
        try:  # the column's own bounds (a 32-bit integer): past them the database would refuse the row (a 500)
            Meeting._meta.get_field("report_attendees").run_validators(attendees)
        except ValidationError as exc:
            raise ValidationError({"report_attendees": exc.messages}) from None
    meeting.report_attendees = attendees
    published = publish and meeting.report_published_at is None
    if published:
        meeting.report_published_at = timezone.now()
    if not publish:
        meeting.report_published_at = None
    meeting.save(update_fields=["report_minutes", "report_attendees", "report_published_at", "updated_at"])
    _emit(meeting, "meeting.changed", parts=(PUBLIC,))
    if published:
        notifications.announce_after_commit(meeting, notifications.REPORT, actor)  # registered people and attendees
    return meeting


@transaction.atomic
def publish_as_debate(*, actor, meeting: Meeting):
    """Carry the discussion online: a debate (debates/) whose description lists the approved contributions, most
    supported first. Once per meeting."""
    from debates import services as debates

    check_facilitator(actor, meeting)
    meeting = _locked(meeting)
    if meeting.debate_id:
        raise ValidationError(_("The contributions are already published as a debate."))
    approved = list(meeting.contributions.filter(status=Contribution.Status.APPROVED, hidden_at__isnull=True)
                    .select_related("participant__user").order_by("-vote_count", "approved_at", "pk"))
    if not approved:
        raise ValidationError(_("There is no approved contribution to publish yet."))
    intro = _("Questions and ideas from the meeting “%(title)s” of %(date)s, most supported first. "
              "The discussion goes on here.") % {"title": meeting.title,
                                                   "date": date_format(timezone.localtime(meeting.starts_at), "SHORT_DATE_FORMAT")}
    lines, size = [intro, ""], len(intro) + 2
    for c in approved:
        line = f"- {c.body} ({c.participant.display_name}, +{c.vote_count})"
        if size + len(line) + 1 > 9900:
            break
        lines.append(line)
        size += len(line) + 1
    title = (_("After the meeting: %(title)s") % {"title": meeting.title})[:150]
    debate = debates.create_debate(author=actor, title=title, description="\n".join(lines),
                                   decidim_url=meeting.decidim_url)
    meeting.debate_id = debate.pk
    meeting.save(update_fields=["debate_id"])
    _emit(meeting, "meeting.changed", parts=(PUBLIC,))
    return debate


def report_counts(meeting: Meeting) -> dict:
    """What the closing report and the console show, in one statement (the console recounts on every push: once
    per contribution in a burst): the contributions' counts, and the other tables' as subqueries."""
    def count(model, extra=""):
        return f'(SELECT COUNT(*) FROM "{model._meta.db_table}" WHERE "meeting_id" = %(pk)s{extra})'

    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT COUNT(*), COUNT(*) FILTER (WHERE "status" = %(approved)s AND "hidden_at" IS NULL),
                       COUNT(*) FILTER (WHERE "kind" = %(question)s), COUNT(*) FILTER (WHERE "kind" = %(idea)s),
                       COUNT(*) FILTER (WHERE "answered_at" IS NOT NULL),
                       {count(Participant)}, {count(Registration)},
                       {count(Poll, ' AND "status" <> %(draft)s')}
                FROM "{Contribution._meta.db_table}" WHERE "meeting_id" = %(pk)s""",
            {"pk": meeting.pk, "approved": Contribution.Status.APPROVED.value, "question": Contribution.Kind.QUESTION.value,
             "idea": Contribution.Kind.IDEA.value, "draft": Poll.Status.DRAFT.value})
        row = cursor.fetchone()
    names = ("contributions", "approved", "questions", "ideas", "answered", "participants", "registrations", "polls")
    return dict(zip(names, row, strict=True))


# --- the live session ----------------------------------------------------------------------------------------------

def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalize_code(code: str) -> str:
    return "".join((code or "").split()).upper().replace("-", "")[:20]


@transaction.atomic
def open_session(*, actor, meeting: Meeting) -> Meeting:
    """Open the live session with a fresh join code (unique among open sessions)."""
    check_facilitator(actor, meeting)
    meeting = _locked(meeting)
    if meeting.live_open:
        raise ValidationError(_("The live session is already open."))
    for _attempt in range(20):
        code = new_join_code()
        if not Meeting.objects.filter(join_code=code).exists():
            break
    else:  # 31^6 codes: only reachable with an absurd number of open sessions
        raise ValidationError(_("No join code available; try again."))
    meeting.live_open, meeting.join_code = True, code
    meeting.live_opened_at, meeting.live_closed_at = timezone.now(), None
    meeting.save(update_fields=["live_open", "join_code", "live_opened_at", "live_closed_at"])
    _emit(meeting, "session.changed", announce=True)  # said on the phones: it opened
    notifications.announce_after_commit(meeting, notifications.OPENED, actor)  # the registered people, off this request
    return meeting


@transaction.atomic
def close_session(*, actor, meeting: Meeting) -> Meeting:
    """Close the live session: the join code expires, open polls close, the speaker queue empties."""
    check_facilitator(actor, meeting)
    meeting = _locked(meeting)
    if not meeting.live_open:
        raise ValidationError(_("The live session is not open."))
    now = timezone.now()
    meeting.live_open, meeting.join_code, meeting.live_closed_at = False, None, now
    meeting.save(update_fields=["live_open", "join_code", "live_closed_at"])
    closed = list(meeting.polls.select_for_update().filter(status=Poll.Status.OPEN).values_list("pk", flat=True))
    if closed:
        Poll.objects.filter(pk__in=closed).update(status=Poll.Status.CLOSED, closed_at=now)
    meeting.speaker_requests.exclude(status=SpeakerRequest.Status.DONE).update(status=SpeakerRequest.Status.DONE)
    _emit(meeting, "session.changed", announce=True)  # said on the phones: it closed
    for pk in closed:  # each poll's card changes as close_poll changes it: on the phones, its answer form hides
        _emit(meeting, "poll.changed", poll=pk, forms_kept=True)
    effects.after_commit(f"flush the frames of meeting {meeting.pk}", partial(_flush_frames, meeting.pk))
    return meeting


def _flush_frames(meeting_pk: int) -> None:
    """The reactions and answers still waiting for their frame, written now: the closing report counts them all."""
    reactions.flush(meeting_pk)
    ANSWER_FRAMES.flush(meeting_pk)


@transaction.atomic
def update_session_settings(*, actor, meeting: Meeting, premoderation: bool | None = None,
                            allow_anonymous: bool | None = None, slow_mode_seconds: int | None = None) -> Meeting:
    check_facilitator(actor, meeting)
    meeting = _locked(meeting)
    guests_were_allowed = meeting.allow_anonymous
    if premoderation is not None:
        meeting.premoderation = bool(premoderation)
    if allow_anonymous is not None:
        meeting.allow_anonymous = bool(allow_anonymous)
    if slow_mode_seconds is not None:
        if not (0 <= slow_mode_seconds <= settings.MEETINGS_MAX_SLOW_MODE_SECONDS):
            raise ValidationError({"slow_mode_seconds": _("Slow mode must be between 0 and %(max)s seconds.")
                                   % {"max": settings.MEETINGS_MAX_SLOW_MODE_SECONDS}})
        meeting.slow_mode_seconds = slow_mode_seconds
    meeting.save(update_fields=["premoderation", "allow_anonymous", "slow_mode_seconds"])
    # Guests switched off: their forms leave their phones (parts.html#live-state), which is said to them.
    _emit(meeting, "session.changed", **({"guests_closed": True} if guests_were_allowed and not meeting.allow_anonymous
                                        else {}))
    return meeting


@transaction.atomic
def set_slow_mode(*, meeting: Meeting, seconds: int) -> Meeting:
    """Slow mode set by the moderation app (which checked and logged the moderator's action)."""
    meeting = _locked(meeting)
    if not (0 <= seconds <= settings.MEETINGS_MAX_SLOW_MODE_SECONDS):
        raise ValidationError(_("Slow mode must be between 0 and %(max)s seconds.")
                              % {"max": settings.MEETINGS_MAX_SLOW_MODE_SECONDS})
    meeting.slow_mode_seconds = seconds
    meeting.save(update_fields=["slow_mode_seconds"])
    _emit(meeting, "session.changed")
    return meeting


@transaction.atomic
def rotate_screen_token(*, actor, meeting: Meeting) -> Meeting:
    """A new secret screen URL; the old one stops working for new screens at once."""
    check_facilitator(actor, meeting)
    meeting = _locked(meeting)
    meeting.screen_token = secrets.token_urlsafe(32)
    meeting.save(update_fields=["screen_token"])
    # Every socket on the screen stream re-checks its right to follow it: screens opened with the old URL stop.
    streams.append(meeting.screen_stream_key, "screen.rotated", _control={"reauthorize": True})
    return meeting


@transaction.atomic
def set_current_item(*, actor, meeting: Meeting, item: AgendaItem | None) -> Meeting:
    check_facilitator(actor, meeting)
    meeting = _locked(meeting)
    if item is not None and item.meeting_id != meeting.pk:
        raise ValidationError(_("This agenda item belongs to another meeting."))
    meeting.current_item = item
    meeting.save(update_fields=["current_item"])
    _emit(meeting, "agenda.changed")
    return meeting


# --- joining -----------------------------------------------------------------------------------------------------

def meeting_for_code(code: str, *, ip: str | None = None) -> Meeting:
    """The open meeting with this join code. Wrong codes are counted per IP (`join_code`), so codes cannot be
    enumerated; a throttled IP still gets in with the right code (the room's wifi is one IP, and one person
    mistyping must not lock the room out). Every attempt counts towards the venue-sized `join_ip`, which bounds
    how fast anyone can try codes at all."""
    ratelimit.enforce("join_ip", f"code:{ip}")
    code = normalize_code(code)
    meeting = Meeting.objects.filter(join_code=code, live_open=True).first() if code else None
    if meeting is not None:
        return meeting
    ratelimit.enforce("join_code", f"code:{ip}")
    raise ValidationError({"code": _("This join code is wrong or has expired. Check the code on the screen.")})


@transaction.atomic
def join(*, meeting: Meeting, user=None, nickname: str = "", ip: str | None = None) -> Participant:
    """Join the live session: signed-in users as themselves, others with a nickname when the facilitator allows it.
    Joining twice returns the same participant."""
    signed_in = getattr(user, "is_authenticated", False)
    if signed_in:
        ratelimit.enforce("join", user)
    else:
        ratelimit.enforce("join_ip", f"ip:{ip}")
    check_live(meeting)
    if signed_in:
        check_not_blocked(user)
        participant = Participant.objects.filter(meeting=meeting, user=user).first()
        if participant:
            return participant
        try:
            with transaction.atomic():
                participant = Participant.objects.create(meeting=meeting, user=user, nickname=user.nickname[:30],
                                                         token=secrets.token_urlsafe(32), ip=ip)
        except IntegrityError:  # joined at the same moment from another tab
            return Participant.objects.get(meeting=meeting, user=user)
    else:
        if not meeting.allow_anonymous:
            raise PermissionDenied(_("This meeting is for signed-in participants only. Please sign in."))
        nickname = user_text(nickname, multiline=False, name=True, key="nickname", max_length=30)
        try:
            nickname_validator(nickname)
        except ValidationError as exc:
            raise ValidationError({"nickname": exc.messages}) from None
        participant = Participant.objects.create(meeting=meeting, nickname=nickname, token=secrets.token_urlsafe(32),
                                                 ip=ip)
    _emit(meeting, "participant.joined", parts=(CONSOLE,), participant=participant.pk)
    return participant


def claim_guest_participations(*, session, user, meeting: Meeting | None = None) -> None:
    """The guest participations this browser's session holds become `user`'s, so that nothing written as a guest
    is lost: every one at sign-in and sign-up (registered in apps.py), `meeting`'s on its page for the sign-ins that
    went elsewhere (the admin's)."""
    pks = guest_meetings(session)
    for found in Meeting.objects.filter(pk__in=[pk for pk in pks if meeting is None or pk == meeting.pk]):
        guest = session_participant(session, found)
        if guest is not None and guest.user_id is None:
            claim_participant(participant=guest, user=user)
        forget_participant(session, found.pk)


@transaction.atomic
def claim_participant(*, participant: Participant, user) -> Participant:
    """A guest signed up (or in) in the same browser: their contributions, votes and answers become the account's.
    Returns the account's participant."""
    if participant.user_id is not None:
        return participant if participant.user_id == user.pk else None
    phones.changed(participant.meeting_id)  # the guest's token no longer acts: its phones are refused at once
    mine = Participant.objects.select_for_update().filter(meeting_id=participant.meeting_id, user=user).first()
    recounted: set[int] = set()
    if mine is None:
        participant.user = user
        participant.save(update_fields=["user"])
        mine = participant
    else:
        participant.contributions.update(participant=mine)
        doubled = []
        for vote in participant.votes.all():
            if ContributionVote.objects.filter(contribution=vote.contribution_id, participant=mine).exists():
                doubled.append(vote.contribution_id)  # voted twice, once as a guest: counts once
            else:
                vote.participant = mine
                vote.save(update_fields=["participant"])
        mine_polls = set(mine.poll_answers.values_list("poll", flat=True))
        dropped_polls = set(participant.poll_answers.filter(poll__in=mine_polls).values_list("poll", flat=True))
        participant.poll_answers.exclude(poll__in=mine_polls).update(participant=mine)
        mine_words = set(mine.word_entries.values_list("poll", flat=True))
        dropped_polls |= set(participant.word_entries.filter(poll__in=mine_words).values_list("poll", flat=True))
        participant.word_entries.exclude(poll__in=mine_words).update(participant=mine)
        participant.speaker_requests.update(status=SpeakerRequest.Status.DONE)
        participant.delete()
        # One person now on both sides of a +1 (the guest supported the account's contribution, or the account the
        # guest's): vote() forbids supporting one's own, so such votes go too.
        own = ContributionVote.objects.filter(participant=mine, contribution__participant=mine)
        recounted = set(doubled) | set(own.values_list("contribution", flat=True))
        own.delete()
        for pk in sorted(recounted):
            Contribution.objects.filter(pk=pk).update(vote_count=ContributionVote.objects.filter(contribution=pk).count())
        for pk in dropped_polls:  # one person answered twice: the results lose the guest's copy
            _emit(Meeting(pk=mine.meeting_id), "poll.answered", poll=pk)
    meeting = Meeting.objects.get(pk=mine.meeting_id)
    # Their public name changes on every contribution they wrote; a recounted one shows its new count.
    for pk in sorted(set(mine.contributions.values_list("pk", flat=True)) | recounted):
        _emit(meeting, "contribution.changed", contribution=pk)
    return mine


# --- contributions -----------------------------------------------------------------------------------------------

def _stamp_post(participant: Participant, *, slow_mode_seconds: int, client_id: str, now
                ) -> tuple[bool, int | None, int | None]:
    """Record that `participant` posts now, unless slow mode says it is too soon, in one statement that also finds
    the contribution they already sent with `client_id` (a retried POST) and, on PostgreSQL, takes the id of the
    contribution about to be written (its INSERT then rides with its events' statement, `_post_contribution`).
    Returns (stamped, that earlier contribution's pk, the new one's id or None). The row stays locked until the
    transaction ends: two quick posts of one phone cannot both pass.

    An account's participation: its account's row too, under a share lock taken first in the same round trip, and
    refused when blocked then (a contribution under way while its author is blocked waits for the block, instead of
    slipping past its hiding; a block that comes second waits for the contribution, and then finds it)."""
    table, contributions = Participant._meta.db_table, Contribution._meta.db_table
    stamp = (f'UPDATE "{table}" SET "last_contribution_at" = %s WHERE "id" = %s AND (%s OR "last_contribution_at" '
             f'IS NULL OR "last_contribution_at" <= %s) RETURNING (SELECT c."id" FROM "{contributions}" c '
             f'WHERE c."participant_id" = %s AND c."client_id" = %s AND c."client_id" <> \'\'), '
             + (next_id(Contribution) if connection.vendor == "postgresql" else "NULL"))
    params = [now, participant.pk, not slow_mode_seconds, now - timedelta(seconds=slow_mode_seconds), participant.pk,
              client_id]
    with hot_cursor() as cursor:
        if participant.user_id and connection.vendor == "postgresql":
            lock_then_read(cursor, [account_lock(participant.user)], stamp, params)
            check_not_blocked(participant.user)
        else:
            cursor.execute(stamp, params)
        row = cursor.fetchone()
    return (row is not None, *(row if row else (None, None)))


def post_contribution(*, participant: Participant, body: str, kind: str = Contribution.Kind.QUESTION,
                      agenda_item: AgendaItem | None = None, client_id: str = "",
                      meeting: Meeting | None = None) -> Contribution:
    """A question or an idea from the room: waits in the facilitators' queue under pre-moderation, else shows at
    once on every phone and the screen. The same `client_id` twice (a retried POST) returns the first one.
    `meeting`: the participant's meeting when the caller just loaded it (the view), to spare loading it again."""
    client_id = (client_id or "")[:40]
    return first_if_sent_twice(
        lambda: _post_contribution(participant=participant, body=body, kind=kind, agenda_item=agenda_item,
                                   client_id=client_id, meeting=meeting),
        lambda: Contribution.objects.filter(participant=participant, client_id=client_id).first() if client_id else None)


@transaction.atomic
def _post_contribution(*, participant, body, kind, agenda_item, client_id, meeting) -> Contribution:
    check_participant(participant)
    if meeting is None or meeting.pk != participant.meeting_id:
        meeting = Meeting.objects.select_related("current_item").get(pk=participant.meeting_id)
    check_guest_allowed(participant, meeting)
    now = timezone.now()
    stamped, already, contribution_id = _stamp_post(participant, slow_mode_seconds=meeting.slow_mode_seconds,
                                                    client_id=client_id, now=now)
    if already is None and not stamped and client_id:
        already = Contribution.objects.filter(participant=participant, client_id=client_id).values_list(
            "pk", flat=True).first()
    if already is not None:
        first = Contribution.objects.get(pk=already)
        transaction.set_rollback(True)  # a retry: nothing is written, not even the slow mode's stamp
        return first
    if not stamped:
        last = Participant.objects.values_list("last_contribution_at", flat=True).get(pk=participant.pk)
        wait = last + timedelta(seconds=meeting.slow_mode_seconds) - now
        raise ValidationError(_("Slow mode is on: you can post again in %(seconds)s seconds.")
                              % {"seconds": int(wait.total_seconds()) + 1})
    body = user_text(body, multiline=True, key="body", max_length=settings.MEETINGS_CONTRIBUTION_MAX_LENGTH)
    if kind not in Contribution.Kind.values:
        raise ValidationError({"kind": _("Choose a question or an idea.")})
    check_live(meeting)
    if agenda_item is not None and agenda_item.meeting_id != meeting.pk:
        raise ValidationError({"agenda_item": _("This agenda item belongs to another meeting.")})
    # Counted once the contribution is known good (as a comment's): a refused one spends none of the limit.
    ratelimit.enforce("contribution", _participant_key(participant))
    approved = not meeting.premoderation
    participant.last_contribution_at = now
    contribution = Contribution(
        meeting=meeting, participant=participant, body=body, kind=kind, agenda_item=agenda_item,
        status=Contribution.Status.APPROVED if approved else Contribution.Status.PENDING,
        approved_at=now if approved else None, client_id=client_id)
    # Its id taken with the stamp (PostgreSQL), the contribution rides with its events' statement.
    riding = riding_or_inserted(contribution, contribution_id)
    _emit(meeting, "contribution.changed", parts=EVERYONE if approved else (CONSOLE,), contribution=contribution.pk,
          announce=approved, known={"meeting": meeting, "contribution": contribution}, riding=riding)
    return contribution


def _moderated(contribution: Contribution, actor) -> tuple[Meeting, Contribution]:
    """The meeting locked (_locked) once the actor is checked as its facilitator, and the contribution locked."""
    meeting = Meeting.objects.select_for_update(no_key=True, of=("self",)).select_related("current_item").get(
        pk=contribution.meeting_id)
    check_facilitator(actor, meeting)
    return meeting, Contribution.objects.select_for_update(of=("self",)).select_related(
        "participant__user", "agenda_item").get(pk=contribution.pk)


@transaction.atomic
def approve_contribution(*, actor, contribution: Contribution) -> Contribution:
    meeting, contribution = _moderated(contribution, actor)
    if contribution.status != Contribution.Status.APPROVED:
        contribution.status, contribution.approved_at = Contribution.Status.APPROVED, timezone.now()
        contribution.save(update_fields=["status", "approved_at"])
    _emit(meeting, "contribution.changed", contribution=contribution.pk, announce=True,
          known={"meeting": meeting, "contribution": contribution})
    return contribution


@transaction.atomic
def reject_contribution(*, actor, contribution: Contribution) -> Contribution:
    meeting, contribution = _moderated(contribution, actor)
    contribution.status, contribution.pinned = Contribution.Status.REJECTED, False
    contribution.save(update_fields=["status", "pinned"])
    _emit(meeting, "contribution.changed", contribution=contribution.pk)
    return contribution


@transaction.atomic
def hide_contribution(*, actor, contribution: Contribution, reason: str = "", check=True) -> Contribution:
    """Hide from phones and the screen. `check=False` when the moderation app already checked the actor."""
    meeting = Meeting.objects.get(pk=contribution.meeting_id)
    if check:
        check_facilitator(actor, meeting)
    meeting = _locked(meeting)
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    contribution.hidden_at, contribution.hidden_reason = timezone.now(), (reason or "")[:REASON_MAX_LENGTH]
    contribution.pinned = False
    contribution.save(update_fields=["hidden_at", "hidden_reason", "pinned"])
    _emit(meeting, "contribution.changed", contribution=contribution.pk)
    return contribution


@transaction.atomic
def unhide_contribution(*, actor, contribution: Contribution, check=True) -> Contribution:
    """Show a hidden contribution again. `check=False` when the moderation app already checked the actor (its own
    unhide). A facilitator only undoes a facilitator's hide: what moderation hid (a moderator, or the reports'
    threshold) only moderation's unhide shows again, which logs it, closes the case and tells the author."""
    meeting = Meeting.objects.get(pk=contribution.meeting_id)
    if check:
        check_facilitator(actor, meeting)
        if moderation_queue.is_hidden_by_moderation("contribution", contribution.pk):
            raise PermissionDenied(_("Moderation hid this contribution: only a moderator can show it again."))
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    contribution.hidden_at, contribution.hidden_reason = None, ""
    contribution.save(update_fields=["hidden_at", "hidden_reason"])
    _emit(meeting, "contribution.changed", contribution=contribution.pk)
    return contribution


@transaction.atomic
def pin_contribution(*, actor, contribution: Contribution) -> Contribution:
    """Show it large on the screen; the previously pinned one is unpinned (one at a time). Pinning approves."""
    meeting, contribution = _moderated(contribution, actor)
    if contribution.hidden_at is not None or contribution.status == Contribution.Status.REJECTED:
        raise ValidationError(_("A hidden or rejected contribution cannot be pinned."))
    previous = list(meeting.contributions.filter(pinned=True).exclude(pk=contribution.pk).values_list("pk", flat=True))
    meeting.contributions.filter(pk__in=previous).update(pinned=False)
    contribution.pinned = True
    if contribution.status != Contribution.Status.APPROVED:
        contribution.status, contribution.approved_at = Contribution.Status.APPROVED, timezone.now()
    contribution.save(update_fields=["pinned", "status", "approved_at"])
    _emit(meeting, "contribution.changed", contribution=contribution.pk, also=previous)
    return contribution


@transaction.atomic
def unpin_contribution(*, actor, contribution: Contribution) -> Contribution:
    meeting, contribution = _moderated(contribution, actor)
    contribution.pinned = False
    contribution.save(update_fields=["pinned"])
    _emit(meeting, "contribution.changed", contribution=contribution.pk)
    return contribution


@transaction.atomic
def mark_answered(*, actor, contribution: Contribution, answered: bool = True) -> Contribution:
    meeting, contribution = _moderated(contribution, actor)
    contribution.answered_at = timezone.now() if answered else None
    contribution.save(update_fields=["answered_at"])
    _emit(meeting, "contribution.changed", contribution=contribution.pk)
    return contribution


MODERATION_ACTIONS = {
    "approve": lambda actor, c: approve_contribution(actor=actor, contribution=c),
    "reject": lambda actor, c: reject_contribution(actor=actor, contribution=c),
    "hide": lambda actor, c: hide_contribution(actor=actor, contribution=c),
    "unhide": lambda actor, c: unhide_contribution(actor=actor, contribution=c),
    "pin": lambda actor, c: pin_contribution(actor=actor, contribution=c),
    "unpin": lambda actor, c: unpin_contribution(actor=actor, contribution=c),
    "answered": lambda actor, c: mark_answered(actor=actor, contribution=c),
    "unanswered": lambda actor, c: mark_answered(actor=actor, contribution=c, answered=False),
}


@transaction.atomic
def vote(*, participant: Participant, contribution: Contribution) -> Contribution:
    """+1, once per participant."""
    check_participant(participant, contribution.meeting_id)
    meeting = Meeting.objects.get(pk=contribution.meeting_id)
    check_guest_allowed(participant, meeting)
    ratelimit.enforce("vote", _participant_key(participant))
    check_live(meeting)
    if not contribution.is_visible:
        raise ValidationError(_("This contribution is not visible."))
    if contribution.participant_id == participant.pk:
        raise ValidationError(_("You cannot support your own contribution."))
    try:
        with transaction.atomic():
            ContributionVote.objects.create(contribution=contribution, participant=participant)
    except IntegrityError:
        raise ValidationError(_("You already supported this contribution.")) from None
    Contribution.objects.filter(pk=contribution.pk).update(vote_count=F("vote_count") + 1)
    contribution.refresh_from_db(fields=["vote_count"])
    _emit(meeting, "contribution.changed", contribution=contribution.pk)
    return contribution


# --- polls -----------------------------------------------------------------------------------------------------------

SCALES = {"1-5": (1, 5), "0-10": (0, 10)}


@transaction.atomic
def create_poll(*, actor, meeting: Meeting, question: str, kind: str = Poll.Kind.SINGLE, choices=(),
                scale: str = "1-5", low_label: str = "", high_label: str = "") -> Poll:
    """Prepare a poll; it stays on the console until opened. Single or multiple choice (`choices`), an open-text
    question shown as a word cloud (no choices), or a scale (`scale` "1-5" or "0-10", its ends named by
    `low_label` and `high_label`; its choices are the numbers)."""
    check_facilitator(actor, meeting)
    question = user_text(question, multiline=False, key="question", max_length=200)
    if kind not in Poll.Kind.values:
        raise ValidationError({"kind": _("Choose the type of question.")})
    labels = []
    if kind == Poll.Kind.SCALE:
        if scale not in SCALES:
            raise ValidationError({"scale": _("Choose a scale from 1 to 5 or from 0 to 10.")})
        low, high = SCALES[scale]
        labels = [str(n) for n in range(low, high + 1)]
        low_label = user_text(low_label, multiline=False, key="low_label", max_length=60, required=False)
        high_label = user_text(high_label, multiline=False, key="high_label", max_length=60, required=False)
    elif kind != Poll.Kind.WORDS:
        labels = [user_text(c, multiline=False, key="choices", max_length=100) for c in choices if (c or "").strip()]
        if len(labels) < 2:
            raise ValidationError({"choices": _("A poll needs at least two choices.")})
        if len(labels) > settings.MEETINGS_MAX_POLL_CHOICES:
            raise ValidationError({"choices": _("At most %(max)s choices.") % {"max": settings.MEETINGS_MAX_POLL_CHOICES}})
        if len({label.casefold() for label in labels}) != len(labels):
            raise ValidationError({"choices": _("Two choices are the same.")})
        low_label = high_label = ""
    else:
        low_label = high_label = ""
    poll = Poll.objects.create(meeting=meeting, question=question, kind=kind, low_label=low_label,
                               high_label=high_label)
    PollChoice.objects.bulk_create([PollChoice(poll=poll, label=label, position=i) for i, label in enumerate(labels)])
    _emit(meeting, "poll.changed", parts=(CONSOLE,), poll=poll.pk)
    return poll


@transaction.atomic
def open_poll(*, actor, poll: Poll) -> Poll:
    meeting = Meeting.objects.get(pk=poll.meeting_id)
    check_facilitator(actor, meeting)
    check_live(meeting)
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if poll.status == Poll.Status.OPEN:
        raise ValidationError(_("This poll is already open."))
    reopened = poll.status == Poll.Status.CLOSED
    poll.status, poll.opened_at, poll.closed_at = Poll.Status.OPEN, timezone.now(), None
    poll.save(update_fields=["status", "opened_at", "closed_at"])
    # Reopened, the phones have its card already, each with its own answer form: the push changes its state only.
    _emit(meeting, "poll.changed", poll=poll.pk, **({"forms_kept": True} if reopened else {}))
    return poll


@transaction.atomic
def close_poll(*, actor, poll: Poll) -> Poll:
    meeting = Meeting.objects.get(pk=poll.meeting_id)
    check_facilitator(actor, meeting)
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if poll.status != Poll.Status.OPEN:
        raise ValidationError(_("This poll is not open."))
    poll.status, poll.closed_at = Poll.Status.CLOSED, timezone.now()
    poll.save(update_fields=["status", "closed_at"])
    _emit(meeting, "poll.changed", poll=poll.pk, forms_kept=True)  # the phones' forms stay, hidden, for a reopening
    return poll


@transaction.atomic
def delete_poll(*, actor, poll: Poll) -> None:
    meeting = Meeting.objects.get(pk=poll.meeting_id)
    check_facilitator(actor, meeting)
    if poll.status != Poll.Status.DRAFT:
        raise ValidationError(_("Only a poll that was never opened can be deleted."))
    pk = poll.pk
    poll.delete()
    _emit(meeting, "poll.changed", parts=(CONSOLE,), poll=pk)


@transaction.atomic
def answer_poll(*, participant: Participant, poll: Poll, choices) -> list[PollAnswer]:
    """Answer an open poll (one answer each; answering again replaces the previous answer). One choice that is not
    the poll's refuses the whole answer: nothing is written, and the refusal spends no rate-limit attempt."""
    check_participant(participant, poll.meeting_id)
    check_guest_allowed(participant)
    # The limit first: a flood past it is refused by one cache round trip, before any read and before the poll's
    # row lock, which every other phone's answer and the facilitator's close wait behind. An answer refused after
    # it gives its attempt back.
    key = _participant_key(participant)
    ratelimit.enforce("vote", key)
    try:
        picked = _picked_choices(poll, choices)
        poll = Poll.objects.select_for_update().get(pk=poll.pk)
        if poll.status != Poll.Status.OPEN:
            raise ValidationError(_("This poll is closed."))
    except ValidationError:
        ratelimit.give_back("vote", key)
        raise
    PollAnswer.objects.filter(poll=poll, participant=participant).delete()
    answers = PollAnswer.objects.bulk_create([PollAnswer(poll=poll, choice=c, participant=participant)
                                              for c in picked])
    _answered(poll)
    return answers


def _picked_choices(poll: Poll, choices) -> list[PollChoice]:
    """The poll's choices named by `choices` (choices or their pks), or ValidationError. Read without the poll's
    lock: a poll's choices never change once it is open."""
    if poll.is_words:
        raise ValidationError(_("This question takes words, not choices."))
    ids = {int(c.pk if hasattr(c, "pk") else c) for c in choices}
    if not ids:
        raise ValidationError({"choices": _("Choose an answer.")})
    picked = list(poll.choices.filter(pk__in=ids))
    if len(picked) != len(ids):
        raise ValidationError({"choices": not_a_choice()})
    if poll.kind != Poll.Kind.MULTIPLE and len(picked) > 1:
        raise ValidationError({"choices": _("Choose only one answer.")})
    return picked


def not_a_choice() -> str:
    return _("One of the answers sent is not a choice of this poll (any more): reload the page and choose again.")


def own_answers(participant: Participant | None, poll: Poll) -> set[int]:
    if participant is None:
        return set()
    return set(PollAnswer.objects.filter(poll=poll, participant=participant).values_list("choice", flat=True))


# --- answers, coalesced ---------------------------------------------------------------------------------------------

def _answered(poll: Poll, *, public: bool = True) -> None:
    """Tell the screen, the phones (`public`) and the console that `poll` has a new or changed answer. The answers
    of a meeting reach them as at most one `poll.answered` event per poll every MEETINGS_ANSWER_FRAME_MS
    (meetings/frames.py): 300 phones answering in 10 s make about 20 renderings of the cloud, not 300. Each event
    renders the current results, so the last one shows every answer accepted before it. The frame is counted once
    this answer is committed, so the frame never renders before the answer is there."""
    part = "public" if public else "console"
    if settings.MEETINGS_ANSWER_FRAME_MS <= 0:
        _emit(Meeting(pk=poll.meeting_id), "poll.answered", parts=EVERYONE if public else (CONSOLE,), poll=poll.pk,
              answers=1)
        return
    meeting_pk, field = poll.meeting_id, f"{poll.pk}:{part}"
    effects.after_commit(f"count an answer of meeting {meeting_pk}", lambda: ANSWER_FRAMES.add(meeting_pk, field),
                         attempts=1)


@transaction.atomic
def polls_answered(meeting_pk: int, counts: dict[str, int]) -> None:
    """One frame of answers ({"<poll>:public" or "<poll>:console": answers}): one `poll.answered` event per poll,
    to everyone when an answer the phones can see changed, else to the console only (entries waiting for
    moderation)."""
    meeting = Meeting.objects.filter(pk=meeting_pk).first()
    if meeting is None:
        return
    polls: dict[int, tuple[bool, int]] = {}
    for field, n in counts.items():
        poll, _sep, part = field.partition(":")
        public, total = polls.get(int(poll), (False, 0))
        polls[int(poll)] = (public or part == "public", total + n)
    for poll, (public, n) in sorted(polls.items()):
        _emit(meeting, "poll.answered", parts=EVERYONE if public else (CONSOLE,), poll=poll, answers=n)


ANSWER_FRAMES = Frames("answers", interval_ms=lambda: settings.MEETINGS_ANSWER_FRAME_MS, write=polls_answered)


# --- word clouds (open-text questions) --------------------------------------------------------------------------

def _open_words_poll(poll: Poll) -> Poll:
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if not poll.is_words:
        raise ValidationError(_("This question is not an open-text question."))
    if poll.status != Poll.Status.OPEN:
        raise ValidationError(_("This poll is closed."))
    return poll


def clean_word_entries(texts) -> list[tuple[str, str]]:
    """[(text, key)] of the non-empty entries, or ValidationError (nothing is written) naming `word`, the
    answer form's field."""
    limit = settings.MEETINGS_WORDCLOUD_ENTRIES
    texts = [t for t in (texts or []) if (t or "").strip()]
    if not texts:
        raise ValidationError({"word": _("Write at least one word.")})
    if len(texts) > limit:
        raise ValidationError({"word": _("At most %(max)s answers.") % {"max": limit}})
    cleaned, keys = [], set()
    for text in texts:
        text = words.tidy(user_text(text, multiline=False, key="word",
                                    max_length=settings.MEETINGS_WORDCLOUD_ENTRY_MAX_LENGTH))
        if not text:
            raise ValidationError({"word": _("Write a word, not only punctuation.")})
        if words.word_count(text) > settings.MEETINGS_WORDCLOUD_ENTRY_MAX_WORDS:
            raise ValidationError({"word": _("Keep each answer short: at most %(max)s words.")
                                   % {"max": settings.MEETINGS_WORDCLOUD_ENTRY_MAX_WORDS}})
        key = _word_key(text)
        if key in keys:
            raise ValidationError({"word": _("Two of your answers are the same word.")})
        keys.add(key)
        cleaned.append((text, key))
    return cleaned


@transaction.atomic
def answer_words(*, participant: Participant, poll: Poll, texts) -> list[WordEntry]:
    """Answer an open-text question with one to MEETINGS_WORDCLOUD_ENTRIES short entries; answering again replaces
    them until the question closes. Under pre-moderation new entries wait in the console; an entry kept as it was
    keeps its approval."""
    check_participant(participant, poll.meeting_id)
    meeting = Meeting.objects.get(pk=poll.meeting_id)
    check_guest_allowed(participant, meeting)
    key = _participant_key(participant)
    ratelimit.enforce("vote", key)  # first, before the lock (as answer_poll); a refused answer gives it back
    try:
        cleaned = clean_word_entries(texts)
        poll = _open_words_poll(poll)
    except ValidationError:
        ratelimit.give_back("vote", key)
        raise
    before = {e.key: e.status for e in WordEntry.objects.filter(poll=poll, participant=participant)}
    WordEntry.objects.filter(poll=poll, participant=participant).delete()
    fresh = WordEntry.Status.PENDING if meeting.premoderation else WordEntry.Status.APPROVED
    entries = WordEntry.objects.bulk_create([
        WordEntry(poll=poll, participant=participant, position=i, text=text, key=key, status=before.get(key, fresh))
        for i, (text, key) in enumerate(cleaned)])
    changed_public = any(status == WordEntry.Status.APPROVED for status in before.values()) or \
        any(e.status == WordEntry.Status.APPROVED for e in entries)
    _answered(poll, public=changed_public)
    return entries


def own_word_entries(participant: Participant | None, poll: Poll) -> list[str]:
    if participant is None:
        return []
    return list(WordEntry.objects.filter(poll=poll, participant=participant).order_by("position")
                .values_list("text", flat=True))


def _word_moderation(actor, poll: Poll) -> tuple[Meeting, Poll]:
    meeting = Meeting.objects.get(pk=poll.meeting_id)
    if not can_moderate_words(actor, meeting):
        raise PermissionDenied(_("Only the meeting's facilitators and moderators can do this."))
    ratelimit.enforce("facilitate", actor)
    if not poll.is_words:
        raise ValidationError(_("This question is not an open-text question."))
    return _locked(meeting), poll


@transaction.atomic
def moderate_word_entry(*, actor, entry: WordEntry, approve: bool) -> WordEntry:
    """Approve or reject an entry waiting under pre-moderation (or change one's decision)."""
    meeting, _poll = _word_moderation(actor, entry.poll)
    entry = WordEntry.objects.select_for_update().get(pk=entry.pk)
    entry.status = WordEntry.Status.APPROVED if approve else WordEntry.Status.REJECTED
    entry.save(update_fields=["status"])
    _emit(meeting, "poll.answered", poll=entry.poll_id)
    return entry


def _word_key(word: str, *, field: str = "word") -> str:
    """What `word` is counted by (words.key), as stored (WordEntry.key, WordRule.key). Folding spells letters out
    ("ﬃ" is "ffi", "ﷺ" 18 letters), so a key can be longer than what was typed: refused beyond the column."""
    key = words.key(word or "")
    if not key:
        raise ValidationError({field: _("Choose a word.")})
    if len(key) > WordEntry._meta.get_field("key").max_length:
        raise ValidationError({field: _("This word is too long.")})
    return key


@transaction.atomic
def hide_word(*, actor, poll: Poll, word: str) -> WordRule:
    """Hide a word (all its entries, whatever their spelling) from the screen, the phones, the report and the
    exports, at once."""
    meeting, poll = _word_moderation(actor, poll)
    key = _word_key(word)
    rule, _created = WordRule.objects.get_or_create(meeting=meeting, poll=poll, kind=WordRule.Kind.HIDE, key=key)
    _emit(meeting, "poll.answered", poll=poll.pk)
    return rule


def _take_back(actor, poll: Poll, kind: str, word: str, missing: str) -> None:
    """Delete a facilitator's decision on `word` (a hide or a merge in `poll`, a stop in the whole meeting) and show
    every cloud it changed again; `missing` when there was none (nothing changes)."""
    meeting, poll = _word_moderation(actor, poll)
    rules = WordRule.objects.filter(meeting=meeting, kind=kind, key=_word_key(word))
    rules = rules.filter(poll=None) if kind == WordRule.Kind.STOP else rules.filter(poll=poll)
    deleted, _rows = rules.delete()
    if not deleted:
        raise ValidationError(missing)
    for pk in _words_polls_shown(meeting) if kind == WordRule.Kind.STOP else [poll.pk]:
        _emit(meeting, "poll.answered", poll=pk)


@transaction.atomic
def unhide_word(*, actor, poll: Poll, word: str) -> None:
    _take_back(actor, poll, WordRule.Kind.HIDE, word, _("This word is not hidden."))


@transaction.atomic
def merge_words(*, actor, poll: Poll, word: str, into: str) -> WordRule:
    """Count `word`'s entries as `into`'s ("vélo" into "pistes cyclables")."""
    meeting, poll = _word_moderation(actor, poll)
    key, target = _word_key(word), _word_key(into, field="into")
    if key == target:
        raise ValidationError({"into": _("Choose two different words.")})
    WordRule.objects.filter(poll=poll, kind=WordRule.Kind.MERGE, key=key).delete()
    rule = WordRule.objects.create(meeting=meeting, poll=poll, kind=WordRule.Kind.MERGE, key=key, target=target)
    _emit(meeting, "poll.answered", poll=poll.pk)
    return rule


@transaction.atomic
def unmerge_word(*, actor, poll: Poll, word: str) -> None:
    """Count `word`'s entries as their own word again."""
    _take_back(actor, poll, WordRule.Kind.MERGE, word, _("This word is not merged into another."))


def _words_polls_shown(meeting: Meeting) -> list[int]:
    return list(meeting.polls.filter(kind=Poll.Kind.WORDS).exclude(status=Poll.Status.DRAFT)
                .values_list("pk", flat=True))


@transaction.atomic
def stop_word(*, actor, poll: Poll, word: str) -> WordRule:
    """Add a word to the meeting's stop-list: no word cloud of the meeting counts it any more."""
    meeting, poll = _word_moderation(actor, poll)
    rule, _created = WordRule.objects.get_or_create(meeting=meeting, poll=None, kind=WordRule.Kind.STOP,
                                                    key=_word_key(word))
    for pk in _words_polls_shown(meeting):
        _emit(meeting, "poll.answered", poll=pk)
    return rule


@transaction.atomic
def unstop_word(*, actor, poll: Poll, word: str) -> None:
    """Take a word off the meeting's stop-list: every word cloud of the meeting counts it again (the built-in
    French and English stop-words stay)."""
    _take_back(actor, poll, WordRule.Kind.STOP, word, _("This word is not on the meeting's stop-list."))


WORD_ACTIONS = {
    "hide": lambda actor, poll, post: hide_word(actor=actor, poll=poll, word=post.get("word", "")),
    "unhide": lambda actor, poll, post: unhide_word(actor=actor, poll=poll, word=post.get("word", "")),
    "merge": lambda actor, poll, post: merge_words(actor=actor, poll=poll, word=post.get("word", ""),
                                                   into=post.get("into", "")),
    "unmerge": lambda actor, poll, post: unmerge_word(actor=actor, poll=poll, word=post.get("word", "")),
    "stop": lambda actor, poll, post: stop_word(actor=actor, poll=poll, word=post.get("word", "")),
    "unstop": lambda actor, poll, post: unstop_word(actor=actor, poll=poll, word=post.get("word", "")),
}


# --- reactions -------------------------------------------------------------------------------------------------------

# (kind, emoji): the labels are in meetings/rendering.py (translated).
REACTION_KINDS = ("clap", "heart", "laugh", "think", "thumbs")


def react(*, participant: Participant, kind: str, meeting: Meeting | None = None) -> None:
    """A tap. Counted in Redis (`meetings.reactions`), not a row: the taps of a frame interval reach the database
    and the screen together, as one event (services.add_reactions)."""
    check_participant(participant, meeting)
    if meeting is None or meeting.pk != participant.meeting_id:
        meeting = Meeting.objects.get(pk=participant.meeting_id)
    check_guest_allowed(participant, meeting)
    _tap(meeting.pk, meeting.current_item_id, meeting.live_open, _participant_key(participant), kind)


def tap(*, phone: phones.Phone, user, kind: str) -> None:
    """A tap from a phone as meetings/phones.py remembers it (no SQL statement): the same checks and count as
    `react`. `user`: the request's or socket's (a signed-in participant's account, whose block is checked)."""
    if phone.user_pk is not None:
        check_not_blocked(user)
    elif not phone.allow_anonymous:
        raise PermissionDenied(guests_closed_message())
    _tap(phone.meeting_pk, phone.current_item_pk, phone.live_open, phone.limit_key(user), kind)


def _tap(meeting_pk: int, item_pk: int | None, live_open: bool, limit_key, kind: str) -> None:
    if kind not in REACTION_KINDS:
        raise ValidationError(_("Unknown reaction."))
    ratelimit.enforce("reaction", limit_key)
    if not live_open:
        raise ValidationError(_("The live session is closed."))
    reactions.tap(meeting_pk, item_pk, kind)


@transaction.atomic
def add_reactions(meeting_pk: int, counts: dict[tuple[int | None, str], int]) -> None:
    """Add a frame's counts ({(agenda item pk or None, kind): n}) and tell the screen and the console, in one event."""
    meeting = Meeting.objects.select_for_update(no_key=True).filter(pk=meeting_pk).first()
    if meeting is None or not counts:
        return
    items = set(meeting.agenda_items.values_list("pk", flat=True))
    for (item, kind), n in counts.items():
        item = item if item in items else None
        row = ReactionCount.objects.filter(meeting=meeting, agenda_item=item, kind=kind).first()
        if row is None:
            ReactionCount.objects.create(meeting=meeting, agenda_item_id=item, kind=kind, count=n)
        else:
            ReactionCount.objects.filter(pk=row.pk).update(count=F("count") + n)
    frame = {}
    for (_item, kind), n in counts.items():
        frame[kind] = frame.get(kind, 0) + n
    _emit(meeting, "reactions.changed", parts=(SCREEN, CONSOLE), counts=frame)


# --- speaker queue -------------------------------------------------------------------------------------------------

@transaction.atomic
def raise_hand(*, participant: Participant) -> SpeakerRequest:
    check_participant(participant)
    meeting = Meeting.objects.get(pk=participant.meeting_id)
    check_guest_allowed(participant, meeting)
    ratelimit.enforce("default", _participant_key(participant))
    check_live(meeting)
    existing = SpeakerRequest.objects.filter(participant=participant).exclude(status=SpeakerRequest.Status.DONE).first()
    if existing:
        raise ValidationError(_("Your hand is already raised."))
    request = SpeakerRequest.objects.create(meeting=meeting, participant=participant)
    _emit(meeting, "speakers.changed")
    return request


@transaction.atomic
def lower_hand(*, participant: Participant) -> None:
    check_participant(participant)
    ratelimit.enforce("default", _participant_key(participant))
    updated = SpeakerRequest.objects.filter(participant=participant).exclude(
        status=SpeakerRequest.Status.DONE).update(status=SpeakerRequest.Status.DONE)
    if not updated:
        raise ValidationError(_("Your hand is not raised."))
    _emit(Meeting(pk=participant.meeting_id), "speakers.changed")


def _speaker_request(actor, request: SpeakerRequest) -> tuple[Meeting, SpeakerRequest]:
    meeting = Meeting.objects.get(pk=request.meeting_id)
    check_facilitator(actor, meeting)
    meeting = _locked(meeting)
    return meeting, SpeakerRequest.objects.select_for_update().get(pk=request.pk)


@transaction.atomic
def give_floor(*, actor, request: SpeakerRequest) -> SpeakerRequest:
    """The floor goes to this person; whoever had it is done."""
    meeting, request = _speaker_request(actor, request)
    if request.status == SpeakerRequest.Status.DONE:
        raise ValidationError(_("This person is no longer in the queue."))
    meeting.speaker_requests.filter(status=SpeakerRequest.Status.SPEAKING).exclude(pk=request.pk).update(
        status=SpeakerRequest.Status.DONE)
    request.status, request.floor_at = SpeakerRequest.Status.SPEAKING, timezone.now()
    request.save(update_fields=["status", "floor_at"])
    _emit(meeting, "speakers.changed")
    return request


@transaction.atomic
def finish_speaker(*, actor, request: SpeakerRequest) -> SpeakerRequest:
    meeting, request = _speaker_request(actor, request)
    request.status = SpeakerRequest.Status.DONE
    request.save(update_fields=["status"])
    _emit(meeting, "speakers.changed")
    return request


@transaction.atomic
def clear_speakers(*, actor, meeting: Meeting) -> int:
    check_facilitator(actor, meeting)
    cleared = meeting.speaker_requests.exclude(status=SpeakerRequest.Status.DONE).update(
        status=SpeakerRequest.Status.DONE)
    _emit(meeting, "speakers.changed")
    return cleared


def speaker_queue(meeting: Meeting) -> list[SpeakerRequest]:
    """Who has the floor first, then the waiting hands in order."""
    requests = list(meeting.speaker_requests.exclude(status=SpeakerRequest.Status.DONE)
                    .select_related("participant__user"))
    return sorted(requests, key=lambda r: (r.status != SpeakerRequest.Status.SPEAKING, r.raised_at, r.pk))


def erase_participant(*, user, former: dict) -> None:
    """An erasure step (live.features): `user`'s contributions keep their place and votes without their text, their
    poll answers keep counting (anonymous: the participant row is kept without name or IP), their registrations and
    raised hands go; the open meeting pages and screens show it at once."""
    participants = Participant.objects.filter(user=user)
    participants.update(nickname="", ip=None, token=forgotten_token())
    # A raised hand goes down: they left (the facilitators' and the screen's speaker lists named them).
    waiting = SpeakerRequest.objects.filter(participant__user=user).exclude(status=SpeakerRequest.Status.DONE)
    for meeting_id in sorted(set(waiting.values_list("meeting_id", flat=True))):
        waiting.filter(meeting_id=meeting_id).update(status=SpeakerRequest.Status.DONE)
        _emit(Meeting(pk=meeting_id), "speakers.changed")
    by_meeting: dict[int, list[int]] = {}
    for meeting_id, pk in (Contribution.objects.filter(participant__user=user)
                           .values_list("meeting_id", "pk").order_by("pk")):
        by_meeting.setdefault(meeting_id, []).append(pk)
    Contribution.objects.filter(participant__user=user).update(body="", client_id="")
    for meeting_id, (first, *others) in by_meeting.items():
        # One event per meeting (its three audiences), naming every contribution it changes.
        _emit(Meeting(pk=meeting_id), "contribution.changed", contribution=first, also=others)
    registered = list(Meeting.objects.filter(registrations__user=user))
    Registration.objects.filter(user=user).delete()
    for meeting in registered:
        _emit(meeting, "registration.changed", parts=(PUBLIC,))
    _erase_mentions(former["nickname"])


def _any_contains(fields, needle: str) -> Q:
    query = Q()
    for field in fields:
        query |= Q(**{f"{field}__icontains": needle})
    return query


def _erase_mentions(nickname: str) -> None:
    """An erased account's name in what others wrote becomes the erased name: its @mentions in contributions,
    minutes, a meeting's title, place and description, poll questions and choices, and word-cloud entries that are its nickname (an entry loses its "@" when tidied, so the whole entry
    is compared; it keeps counting, under the erased name). The open pages and screens show it at once."""
    erased, needle = erased_name_stored(), f"@{nickname}"
    for contribution in Contribution.objects.filter(body__icontains=needle).select_related("meeting"):
        contribution.body = replace_mentions(contribution.body, nickname, erased)
        contribution.save(update_fields=["body"])
        _emit(contribution.meeting, "contribution.changed", contribution=contribution.pk)
    # Its title, place and description too: the pages, the screen and the open data show them.
    fields = ("title", "place", "description", "report_minutes")
    for meeting in Meeting.objects.filter(_any_contains(fields, needle)):
        for field in fields:
            setattr(meeting, field, replace_mentions(getattr(meeting, field), nickname, erased))
        meeting.save(update_fields=[*fields, "updated_at"])
        _emit(meeting, "meeting.changed")
    changed_polls = set()
    poll_fields = ("question", "low_label", "high_label")
    for poll in Poll.objects.filter(_any_contains(poll_fields, needle)):
        for field in poll_fields:
            setattr(poll, field, replace_mentions(getattr(poll, field), nickname, erased))
        poll.save(update_fields=list(poll_fields))
        changed_polls.add((poll.meeting_id, poll.pk))
    for choice in PollChoice.objects.filter(label__icontains=needle).select_related("poll"):
        choice.label = replace_mentions(choice.label, nickname, erased)
        choice.save(update_fields=["label"])
        changed_polls.add((choice.poll.meeting_id, choice.poll_id))
    for meeting_id, poll_id in sorted(changed_polls):
        _emit(Meeting(pk=meeting_id), "poll.changed", poll=poll_id)
    polls = set()
    for entry in WordEntry.objects.filter(key=words.key(nickname)).select_related("poll"):
        entry.text, entry.key = erased, words.key(erased)
        entry.save(update_fields=["text", "key"])
        polls.add((entry.poll.meeting_id, entry.poll_id))
    for meeting_id, poll_id in sorted(polls):
        _emit(Meeting(pk=meeting_id), "poll.answered", poll=poll_id)
