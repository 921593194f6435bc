"""Agora meetings: the meeting itself (place, agenda, registrations, closing report), its live session (join code,
screen token, toggles), and what happens in the room (participants, contributions, votes, polls, speaker queue)."""

from django.conf import settings
from django.db import models
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from decidim.organizations import validate_decidim_url
from live.moderation.registry import REASON_MAX_LENGTH
from live.text import TextValidator

# No 0/O, 1/I/L: a code read aloud or from the back of the room must not be ambiguous.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6


class MeetingQuerySet(models.QuerySet):
    def upcoming(self):
        return self.filter(ends_at__gte=timezone.now()).order_by("starts_at")

    def past(self):
        return self.filter(ends_at__lt=timezone.now()).order_by("-starts_at")

    def home_page(self):
        """Live first, then upcoming (soonest first), then past ones (most recent first)."""
        now = timezone.now()
        past = models.Q(ends_at__lt=now)
        return self.annotate(
            past_rank=models.Case(models.When(past, then=1), default=0, output_field=models.IntegerField()),
            upcoming_start=models.Case(models.When(~past, then=models.F("starts_at"))),
            past_start=models.Case(models.When(past, then=models.F("starts_at"))),
        ).order_by("-live_open", "past_rank", models.F("upcoming_start").asc(nulls_last=True),
                   models.F("past_start").desc(nulls_last=True), "pk")


class Meeting(models.Model):
    class Kind(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        ONLINE = "online", _("Online")
        HYBRID = "hybrid", _("Hybrid")

    title = models.CharField(_("title"), max_length=200, validators=[TextValidator()])
    description = models.TextField(_("description"), blank=True, max_length=5000,
                                   validators=[TextValidator(multiline=True)])
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.IN_PERSON)
    place = models.CharField(_("place"), max_length=300, blank=True, validators=[TextValidator()],
                             help_text=_('e.g. "Agora, 20 rue de Stalingrad, Nanterre"'))
    # Video-conference links (Teams, Zoom) often run past URLField's 200 characters; Decidim imports them as they are.
    online_url = models.URLField(_("online link"), max_length=2000, blank=True)
    decidim_url = models.URLField(_("Decidim page"), max_length=500, blank=True, validators=[validate_decidim_url],
                                  help_text=_("The page of this meeting (or of its process) on the city's Decidim: "
                                              "shown as a link back."))
    stream_url = models.URLField(_("livestream"), max_length=500, blank=True,
                                 help_text=_("A hybrid or online meeting's livestream (PeerTube, YouTube, Jitsi...): "
                                             "shown on the remote participants' page."))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Saved with any change made through save() or save_report (the open data's meetings dataset is keyed by it,
    # opendata.selectors); live state saved with other update_fields leaves it.
    updated_at = models.DateTimeField(auto_now=True)

    # Registration (optional)
    registration_enabled = models.BooleanField(_("registration open"), default=False)
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True,
                                           help_text=_("Leave empty for no limit."))
    registration_code = models.CharField(_("registration code"), max_length=40, blank=True,
                                         help_text=_("If set, people need this code to register."))

    # The live session
    live_open = models.BooleanField(_("live session open"), default=False)
    live_opened_at = models.DateTimeField(null=True, blank=True)
    live_closed_at = models.DateTimeField(null=True, blank=True)
    join_code = models.CharField(max_length=JOIN_CODE_LENGTH, unique=True, null=True, blank=True,
                                 help_text=_("Set while the live session is open; cleared when it closes."))
    screen_token = models.CharField(max_length=64, unique=True, help_text=_("The secret of the screen URL."))
    allow_anonymous = models.BooleanField(_("anonymous participants allowed"), default=True,
                                          help_text=_("People can join with a nickname, without an account."))
    premoderation = models.BooleanField(_("pre-moderation"), default=True,
                                        help_text=_("New contributions wait for a facilitator's approval."))
    slow_mode_seconds = models.PositiveIntegerField(_("slow mode (seconds)"), default=0,
                                                    help_text=_("One contribution per participant per N seconds; "
                                                                "0 turns slow mode off."))
    current_item = models.ForeignKey("AgendaItem", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    debate_id = models.BigIntegerField(null=True, blank=True, help_text=_("The debate the contributions went to."))

    # Closing report
    report_minutes = models.TextField(_("minutes"), blank=True, max_length=20000,
                                      validators=[TextValidator(multiline=True)])
    report_attendees = models.PositiveIntegerField(_("attendees"), null=True, blank=True)
    report_published_at = models.DateTimeField(null=True, blank=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gte=models.F("starts_at")),
                                              name="meeting_ends_after_start")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("meetings:detail", args=[self.pk])

    # Streams: one per audience.
    @property
    def stream_key(self) -> str:
        return f"meeting.{self.pk}"

    @property
    def screen_stream_key(self) -> str:
        return f"meeting.{self.pk}.screen"

    @property
    def console_stream_key(self) -> str:
        return f"meeting.{self.pk}.console"

    @property
    def space(self) -> str:
        return f"meeting.{self.pk}"

    @property
    def is_past(self) -> bool:
        return self.ends_at < timezone.now()

    @property
    def has_place(self) -> bool:
        return self.kind in (self.Kind.IN_PERSON, self.Kind.HYBRID) and bool(self.place)

    @property
    def has_online(self) -> bool:
        return self.kind in (self.Kind.ONLINE, self.Kind.HYBRID) and bool(self.online_url)

    @property
    def report_published(self) -> bool:
        return self.report_published_at is not None


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    title = models.CharField(_("title"), max_length=200, validators=[TextValidator()])
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), default=0)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title


class Registration(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meeting_registrations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "user"], name="registration_once")]

    def __str__(self):
        return f"{self.user} → {self.meeting}"


# A seat's token ties a browser's session (which holds it, signed) to the seat and what was written from it. Unique,
# so not blanked when the seat is anonymised (a guest past retention, an erased account's seat): replaced by this
# prefix and the row's id, which no session holds (the tokens given out are secrets.token_urlsafe's letters, digits,
# "-" and "_", never ":").
FORGOTTEN_TOKEN = "forgotten:"


def forgotten_token():
    """The expression that replaces a seat's token when the seat is anonymised (an update's value)."""
    return Concat(Value(FORGOTTEN_TOKEN), Cast("pk", output_field=CharField()))


class Participant(models.Model):
    """Someone in the room: a signed-in user, or an anonymous guest known by a random token kept (signed) in their
    session. A guest who signs up in the same browser is attached to their new account (`claim_participant`)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="meeting_participations")
    nickname = models.CharField(_("nickname"), max_length=30, validators=[TextValidator(name=True)])
    token = models.CharField(max_length=64, unique=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    last_contribution_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "user"], condition=models.Q(user__isnull=False),
                                               name="participant_once_per_user")]

    def __str__(self):
        return self.display_name

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None

    @property
    def display_name(self) -> str:
        if self.user_id:
            return self.user.public_name
        return self.nickname


class Contribution(models.Model):
    class Kind(models.TextChoices):
        QUESTION = "question", _("Question")
        IDEA = "idea", _("Idea")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for moderation")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="contributions")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="contributions")
    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="contributions")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.QUESTION)
    body = models.TextField(_("text"), validators=[TextValidator(multiline=True)])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    hidden_at = models.DateTimeField(null=True, blank=True,
                                     help_text=_("Hidden by a facilitator or a moderator: shown to nobody."))
    hidden_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    pinned = models.BooleanField(default=False, help_text=_("Shown large on the screen; one at a time."))
    answered_at = models.DateTimeField(null=True, blank=True)
    vote_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    # Sent with the form: a phone that retries the same POST (flaky Wi-Fi in the room) gets the same contribution.
    client_id = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["meeting"], condition=models.Q(pinned=True),
                                    name="one_pinned_contribution_per_meeting"),
            models.UniqueConstraint(fields=["participant", "client_id"], condition=~models.Q(client_id=""),
                                    name="one_contribution_per_client_id"),
        ]

    def __str__(self):
        return self.body[:60]

    def get_absolute_url(self):
        return reverse("meetings:live", args=[self.meeting_id]) + f"#contribution-{self.pk}"

    @property
    def is_visible(self) -> bool:
        """Shown on phones and the screen."""
        return self.status == self.Status.APPROVED and self.hidden_at is None

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING and self.hidden_at is None


class ContributionVote(models.Model):
    contribution = models.ForeignKey(Contribution, on_delete=models.CASCADE, related_name="votes")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="votes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contribution", "participant"], name="one_vote_each")]

    def __str__(self):
        return f"+1 {self.contribution_id} by {self.participant_id}"


class Poll(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        WORDS = "words", _("Open text (word cloud)")
        SCALE = "scale", _("Scale")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Prepared")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="polls")
    question = models.CharField(_("question"), max_length=200, validators=[TextValidator()])
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # A scale question's choices are its numbers ("1".."5" or "0".."10"); these name both ends.
    low_label = models.CharField(_("label of the lowest value"), max_length=60, blank=True,
                                 validators=[TextValidator()])
    high_label = models.CharField(_("label of the highest value"), max_length=60, blank=True,
                                  validators=[TextValidator()])

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.question

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_words(self) -> bool:
        return self.kind == self.Kind.WORDS

    @property
    def is_scale(self) -> bool:
        return self.kind == self.Kind.SCALE

    @property
    def scale_ends(self) -> tuple[str, str]:
        """A scale's lowest and highest values ("1", "5")."""
        labels = [c.label for c in self.choices.all()]
        return (labels[0], labels[-1]) if labels else ("", "")

    @property
    def has_choices(self) -> bool:
        return self.kind in (self.Kind.SINGLE, self.Kind.MULTIPLE)

    def results(self) -> list[dict]:
        """Each choice with its count and share (percent of respondents), in order."""
        choices = list(self.choices.annotate(count=models.Count("answers")).order_by("position", "pk"))
        respondents = self.answers.values("participant").distinct().count()
        return [{"choice": c, "count": c.count, "percent": round(100 * c.count / respondents) if respondents else 0}
                for c in choices]

    def respondent_count(self) -> int:
        return self.answers.values("participant").distinct().count()


class PollChoice(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="choices")
    label = models.CharField(_("choice"), max_length=100, validators=[TextValidator()])
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.label


class PollAnswer(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="answers")
    choice = models.ForeignKey(PollChoice, on_delete=models.CASCADE, related_name="answers")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="poll_answers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["choice", "participant"], name="one_answer_per_choice")]

    def __str__(self):
        return f"{self.participant_id} → {self.choice_id}"


class SpeakerRequest(models.Model):
    """A raised hand. The queue is the waiting requests in order; one of them may have the floor."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        SPEAKING = "speaking", _("Has the floor")
        DONE = "done", _("Done")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="speaker_requests")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="speaker_requests")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    raised_at = models.DateTimeField(auto_now_add=True)
    floor_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["raised_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["participant"], condition=~models.Q(status="done"),
                                               name="one_raised_hand_each")]

    def __str__(self):
        return f"{self.participant} ({self.status})"


class WordEntry(models.Model):
    """One of a participant's (at most MEETINGS_WORDCLOUD_ENTRIES) answers to an open-text question. `key` is the
    normalised form the cloud counts by (meetings/words.py); `text` is what they typed, tidied."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for moderation")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="word_entries")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="word_entries")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=100)
    key = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["poll", "status"])]
        constraints = [models.UniqueConstraint(fields=["poll", "participant", "position"],
                                               name="one_word_entry_per_position")]

    def __str__(self):
        return self.text


class WordRule(models.Model):
    """A facilitator's word-cloud decision: hide a word of a question (all its entries), merge one word into another
    in a question, or stop a word in the whole meeting (`poll` empty)."""

    class Kind(models.TextChoices):
        HIDE = "hide", _("Hidden")
        MERGE = "merge", _("Merged")
        STOP = "stop", _("Stop-word")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="word_rules")
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, null=True, blank=True, related_name="word_rules")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    key = models.CharField(max_length=100)
    target = models.CharField(max_length=100, blank=True, help_text=_("A merge's remaining word."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.kind} {self.key}"


class ReactionCount(models.Model):
    """How many times the room tapped a reaction during an agenda item: counts, never a row per tap (taps are
    gathered in Redis and added here once per screen frame, meetings/reactions.py)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="reaction_counts")
    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=10)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.kind} × {self.count}"
