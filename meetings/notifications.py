"""What a meeting tells the people registered for it (their "meetings I registered for" preference): a reminder the
day before and one an hour before, the live session opened, the closing report published.

Each goes through live.notifications.notify: written in the recipient's language, on the site, and by e-mail or push
as they chose. Never on the request path: the reminders are sent by `manage.py send_meeting_reminders` (cron, every
5 minutes: docs/deploy.md), the others by a task queued after the commit of the facilitator's action. Each is said
once per person (notify's `once` key): a second cron run, a retried task or a facilitator who closes and reopens the
session sends nothing again; a meeting moved to another time is reminded of again, at its new time.

The reminders and "the session is open" are time-sensitive: e-mailed at once even to people who chose the daily
digest, and dropped from a digest once the meeting is over (subject "meeting-soon:<pk>"). The closing report may
wait for the digest."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from live import effects
from live.notifications.services import notify
from meetings.models import Meeting

OPENED, REPORT = "opened", "report"

DAY_TEXT = _("Reminder: “%(title)s” is on %(date)s at %(time)s, %(place)s.")
DAY_TEXT_NO_PLACE = _("Reminder: “%(title)s” is on %(date)s at %(time)s.")
HOUR_TEXT = _("“%(title)s” starts at %(time)s, in less than an hour: %(place)s.")
HOUR_TEXT_NO_PLACE = _("“%(title)s” starts at %(time)s, in less than an hour.")
OPENED_TEXT = _("The live session of “%(title)s” is open: join it from your phone.")
REPORT_TEXT = _("The closing report of “%(title)s” is published.")


def _formatted(when, fmt: str) -> str:
    return date_format(timezone.localtime(when), fmt)


# Formatted when the text is rendered, in the recipient's language ("7 décembre 2026" / "Dec. 7, 2026").
_formatted_lazy = lazy(_formatted, str)


def _place(meeting: Meeting) -> str:
    return meeting.place if meeting.has_place else ""


def _people(meeting: Meeting, *, participants: bool = False, exclude=()):
    """The active accounts registered for `meeting` (and, `participants`, those who joined its room signed in)."""
    from django.contrib.auth import get_user_model

    people = Q(meeting_registrations__meeting=meeting)
    if participants:
        people |= Q(meeting_participations__meeting=meeting)
    return (get_user_model().objects.filter(people, is_active=True, blocked_at__isnull=True)
            .exclude(pk__in=[pk for pk in exclude if pk]).distinct().order_by("pk"))


def _tell(people, *, once: str, **kwargs) -> int:
    from live.notifications.models import Notification

    told = set(Notification.objects.filter(once_key=once, user__in=people).values_list("user_id", flat=True))
    sent = 0
    for user in people:
        if user.pk not in told and notify(user=user, once=once, **kwargs) is not None:
            sent += 1
    return sent


def _day_ahead() -> timedelta:
    return timedelta(hours=settings.MEETINGS_REMINDER_DAY_HOURS)


def remind(meeting: Meeting, now=None) -> int:
    """The reminder due for `meeting` now, to each registered person who did not have it: "an hour before" from
    MEETINGS_REMINDER_HOUR_MINUTES before its start, "the day before" from MEETINGS_REMINDER_DAY_HOURS before
    (skipped when the hour's is already due: one reminder, the right one). Returns how many people were reminded."""
    now = now or timezone.now()
    left = meeting.starts_at - now
    if left <= timedelta(0) or left > _day_ahead():
        return 0
    hour = left <= timedelta(minutes=settings.MEETINGS_REMINDER_HOUR_MINUTES)
    place = _place(meeting)
    params = {"title": meeting.title, "time": _formatted_lazy(meeting.starts_at, "TIME_FORMAT")}
    if hour:
        kind, text = "meeting.reminder_hour", HOUR_TEXT if place else HOUR_TEXT_NO_PLACE
    else:
        kind, text = "meeting.reminder_day", DAY_TEXT if place else DAY_TEXT_NO_PLACE
        params["date"] = _formatted_lazy(meeting.starts_at, "DATE_FORMAT")
    if place:
        params["place"] = place
    stage = "hour" if hour else "day"
    once = f"meeting.{meeting.pk}.{stage}.{meeting.starts_at.timestamp():.0f}"  # moved: reminded again
    return _tell(_people(meeting), once=once, kind=kind, text=text, params=params,
                 url=meeting.get_absolute_url(), subject=f"meeting-soon:{meeting.pk}", at_once=True)


def send_reminders(now=None) -> int:
    """Every reminder due now (the cron job); returns how many people were reminded."""
    now = now or timezone.now()
    due = (Meeting.objects.filter(starts_at__gt=now, starts_at__lte=now + _day_ahead(),
                                  registrations__isnull=False).distinct().order_by("starts_at", "pk"))
    return sum(remind(meeting, now) for meeting in due)


def announce(meeting_id: int, event: str, actor_id: int | None = None) -> int:
    """The registered people told that `meeting_id`'s live session is open (OPENED) or its closing report published
    (REPORT; those who joined its room signed in too), if it still is when this runs. Not `actor_id`, who did it."""
    meeting = Meeting.objects.filter(pk=meeting_id).first()
    if meeting is None:
        return 0
    if event == OPENED:
        if not meeting.live_open:
            return 0  # closed again before the task ran: an invitation to nothing
        once = f"meeting.{meeting.pk}.opened.{timezone.localdate(meeting.live_opened_at):%Y%m%d}"  # once a day
        return _tell(_people(meeting, exclude=[actor_id]), once=once, kind="meeting.opened", text=OPENED_TEXT,
                     params={"title": meeting.title}, url=reverse("meetings:live", args=[meeting.pk]),
                     subject=f"meeting-soon:{meeting.pk}", at_once=True)
    if event == REPORT:
        if not meeting.report_published:
            return 0  # unpublished before the task ran
        return _tell(_people(meeting, participants=True, exclude=[actor_id]), once=f"meeting.{meeting.pk}.report",
                     kind="meeting.report", text=REPORT_TEXT, params={"title": meeting.title},
                     url=meeting.get_absolute_url() + "#report-title", subject=f"meeting:{meeting.pk}")
    raise ValueError(event)


def announce_after_commit(meeting: Meeting, event: str, actor=None) -> None:
    """Queue `announce` (a task: the request that opened the session or published the report sends nothing)."""
    from meetings.tasks import announce_to_registered

    actor_id = getattr(actor, "pk", None)
    effects.after_commit(f"meeting {meeting.pk} {event} notifications",
                         lambda: announce_to_registered.enqueue(meeting.pk, event, actor_id))


def register_subject_checks() -> None:
    """An e-mail about a meeting deleted since is never sent; one about its start, never once it is over (and its
    live session closed)."""
    from live.notifications.services import add_subject_check

    add_subject_check("meeting", lambda pk: Meeting.objects.filter(pk=pk).exists())
    add_subject_check("meeting-soon", lambda pk: Meeting.objects.filter(
        Q(ends_at__gte=timezone.now()) | Q(live_open=True), pk=pk).exists())
