"""Debates and their comment threads.

Counters that pages sort or display on every request (a comment's score, its number of replies, a thread's size)
are kept on the rows and maintained by the services in the same transaction as the change they count, so the first
page of a 5,000-comment debate is a handful of indexed queries.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from decidim.organizations import validate_decidim_url
from live.moderation.registry import REASON_MAX_LENGTH
from live.text import plain_text


class Stance(models.IntegerChoices):
    FOR = 1, _("For")
    NEUTRAL = 0, _("Neutral")
    AGAINST = -1, _("Against")


STANCE_SLUGS = {Stance.FOR: "for", Stance.NEUTRAL: "neutral", Stance.AGAINST: "against"}


class DebateQuerySet(models.QuerySet):
    def open_first(self):
        return self.order_by(models.F("closed_at").desc(nulls_first=True), "-created_at", "-pk")

    def home_page(self):
        """Open debates first, newest first: what the home page lists."""
        return self.select_related("author").open_first()


# The debate list's stream: new debates, closed ones, comment counts (readers come as ephemeral frames).
LIST_STREAM = "debates.all"


class Debate(models.Model):
    title = models.CharField(_("title"), max_length=150)
    description = models.TextField(_("description"), max_length=10000,
                                   help_text=_("Markdown-lite: *emphasis*, **strong**, [links](https://…), lists, "
                                               "> quotes."))
    description_html = models.TextField(editable=False, blank=True)
    instructions = models.TextField(_("instructions"), max_length=2000, blank=True,
                                    help_text=_("How to take part: what you expect from the comments."))
    instructions_html = models.TextField(editable=False, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="debates",
                               verbose_name=_("author"))
    official = models.BooleanField(_("official"), default=False,
                                   help_text=_("Opened by a facilitator or an administrator of the city."))
    starts_at = models.DateTimeField(_("comments open on"), null=True, blank=True)
    ends_at = models.DateTimeField(_("comments close on"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Closed: the author (or a facilitator/moderator) wrote the conclusions; no more comments or votes.
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    conclusions = models.TextField(_("conclusions"), blank=True)
    conclusions_html = models.TextField(editable=False, blank=True)
    # Locked: a moderator stopped the comments (heated thread); the debate itself stays open.
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    lock_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    decidim_url = models.URLField(_("Decidim page"), max_length=500, blank=True, validators=[validate_decidim_url],
                                  help_text=_("The page of the process, assembly or meeting on the city's Decidim this "
                                              "debate belongs to: shown as a link back."))
    slow_mode_seconds = models.PositiveIntegerField(default=0, help_text=_("Minimum delay between two comments of "
                                                                           "the same person (0: off)."))

    objects = DebateQuerySet.as_manager()

    class Meta:
        verbose_name = _("debate")
        verbose_name_plural = _("debates")
        indexes = [models.Index(fields=["closed_at", "-created_at"], name="debate_open_first")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("debates:detail", args=[self.pk])

    @property
    def stream_key(self) -> str:
        return f"debate.{self.pk}"

    @property
    def space(self) -> str:
        return f"debate.{self.pk}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def comments_locked(self) -> bool:
        return self.locked_at is not None

    def window_state(self, now=None) -> str:
        """"before", "during" or "after" the optional opening window."""
        now = now or timezone.now()
        if self.starts_at and now < self.starts_at:
            return "before"
        if self.ends_at and now >= self.ends_at:
            return "after"
        return "during"

    @property
    def accepts_comments(self) -> bool:
        return not self.is_closed and not self.comments_locked and self.window_state() == "during"

    @property
    def state(self) -> str:
        """One word for CSS and tests: open, closed, locked, not-started, ended."""
        if self.is_closed:
            return "closed"
        if self.comments_locked:
            return "locked"
        return {"before": "not-started", "after": "ended"}.get(self.window_state(), "open")


class DebateUpdate(models.Model):
    """An information update posted by the author or a facilitator ("the survey results are online")."""

    debate = models.ForeignKey(Debate, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("information update"), max_length=2000)
    body_html = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return plain_text(self.body, 60)


class CommentQuerySet(models.QuerySet):
    def roots(self):
        return self.filter(parent__isnull=True)

    def visible(self):
        """Neither deleted nor hidden by moderation: what counts in tallies."""
        return self.filter(deleted_at__isnull=True, hidden_at__isnull=True)


class Comment(models.Model):
    MAX_DEPTH = 2  # roots are depth 0: three levels in all

    debate = models.ForeignKey(Debate, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="debate_comments")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies")
    root = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                             help_text=_("The root comment of the thread (empty for roots)."))
    depth = models.PositiveSmallIntegerField(default=0)
    alignment = models.SmallIntegerField(_("stance"), choices=Stance.choices, default=Stance.NEUTRAL)
    body = models.TextField(_("comment"))
    body_html = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Moderation (live.moderation calls hide_comment/unhide_comment through the registry).
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    hidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    # A random id the posting form carries: a retried or double-submitted post returns the first comment.
    client_id = models.CharField(max_length=40, blank=True, editable=False)
    # Maintained by the services.
    score = models.IntegerField(default=0)
    upvotes = models.PositiveIntegerField(default=0)
    downvotes = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0, help_text=_("Direct replies."))
    thread_size = models.PositiveIntegerField(default=0, help_text=_("All replies below a root."))

    objects = CommentQuerySet.as_manager()

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        indexes = [
            # A page of roots in each sort (selectors.SORTS, down to its last key) is read in index order and stops
            # after 21 rows, instead of sorting every root of the debate. Partial: PostgreSQL cannot use an index's
            # order past a `parent_id IS NULL` column.
            models.Index(fields=["debate", "created_at", "id"], name="comment_by_time",
                         condition=models.Q(parent__isnull=True)),
            models.Index(fields=["debate", "-score", "-created_at", "-id"], name="comment_by_score",
                         condition=models.Q(parent__isnull=True)),
            models.Index(fields=["debate", "-thread_size", "-created_at", "-id"], name="comment_by_size",
                         condition=models.Q(parent__isnull=True)),
            models.Index(fields=["root", "created_at"], name="comment_thread"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["author", "client_id"], condition=~models.Q(client_id=""),
                                    name="comment_client_id_once"),
        ]

    def __str__(self):
        return plain_text(self.body, 60)

    def get_absolute_url(self):
        return self.url

    @cached_property
    def url(self) -> str:
        """The comment's own page; its actions (vote/, edit/, delete/, replies/) live below it (debates/urls.py).
        Pages render hundreds of comments: one reverse() each, not one per link."""
        return reverse("debates:comment", args=[self.debate_id, self.pk])

    @property
    def comments_url(self) -> str:
        """Where comments of this debate are posted (the parent of every comment URL)."""
        return self.url[: -len(f"{self.pk}/")]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def body_text(self) -> str:
        return plain_text(self.body)

    @property
    def stance_slug(self) -> str:
        return STANCE_SLUGS.get(self.alignment, "neutral")

    @property
    def thread_root_id(self) -> int:
        return self.root_id or self.pk


class Vote(models.Model):
    UP, DOWN = 1, -1

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    value = models.SmallIntegerField(choices=[(UP, "+1"), (DOWN, "-1")])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["comment", "user"], name="one_vote_per_user")]

    def __str__(self):
        return f"{self.user_id} {self.value:+d} on {self.comment_id}"
