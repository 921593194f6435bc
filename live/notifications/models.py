from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """Something a person should know: a welcome, a reply, a mention, a private message, a moderation notice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    text = models.CharField(_("text"), max_length=300)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # What it is about ("comment:12"): an e-mail is never sent for something hidden or deleted since (SUBJECT_CHECKS).
    subject = models.CharField(max_length=60, blank=True)
    email = models.CharField(max_length=8, blank=True, choices=[("pending", "pending"), ("sent", "sent"),
                                                                 ("dropped", "dropped")])
    # Said once per person ("meeting.7.day.<start>": a reminder), whoever asks again (a cron run, a retried task).
    once_key = models.CharField(max_length=80, blank=True)
    # The person the text names (its "author" or "name" parameter: "bob replied to..."), whose erasure rewrites it;
    # "" names nobody; NULL: recorded before this was kept (an erasure then looks for the name in the whole text).
    named = models.CharField(max_length=150, null=True, blank=True)  # noqa: DJ001 (NULL is not "")
    # Time-sensitive (notify(at_once=True): a meeting starts soon): e-mailed at once even to a daily-digest reader,
    # and, held back by the rate limit, swept with the at-once items rather than left for the digest.
    at_once = models.BooleanField(default=False)
    # The language `text` was written in (its recipient's then: services.record), so that a page in another one marks
    # it (lang, WCAG 3.1.2); "" for one recorded before this was kept.
    language = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"]),
                   models.Index(fields=["email"], condition=models.Q(email="pending"), name="notification_email_pending")]
        constraints = [models.UniqueConstraint(fields=["user", "once_key"], condition=~models.Q(once_key=""),
                                               name="notification_once")]

    def __str__(self):
        return self.text

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @property
    def foreign_language(self) -> str:
        """Its text's language when the active one (the page's) is another, else "" (nothing to mark)."""
        from django.utils import translation

        active = (translation.get_language() or "").split("-")[0]
        return self.language if self.language and self.language != active else ""


class Channel(models.TextChoices):
    SITE = "site", _("On this site only")
    EMAIL = "email", _("By e-mail")
    PUSH = "push", _("Push on my devices")


class Rhythm(models.TextChoices):
    NOW = "now", _("At once")
    DAILY = "daily", _("In a daily digest")
    NEVER = "never", _("Never")


class Category(models.TextChoices):
    """What a person chooses a channel for; each notification kind belongs to one (or to none: site only)."""

    REPLY = "reply", _("Replies to my comments")
    MENTION = "mention", _("Mentions of my name")
    CONCLUSION = "conclusion", _("Conclusions of debates I took part in")
    MESSAGE = "message", _("New private messages")
    MEETING = "meeting", _("Meetings I registered for")
    MODERATION = "moderation", _("Moderation decisions about my content")


# Notification kinds (or kind prefixes, ending with ".") and their category; a kind not listed stays on the site.
KIND_CATEGORIES = {
    "debate.reply": Category.REPLY,
    "debate.mention": Category.MENTION,
    "debate.closed": Category.CONCLUSION,
    "message": Category.MESSAGE,
    "meeting.": Category.MEETING,
    "moderation.": Category.MODERATION,
}


def category_of(kind: str) -> Category | None:
    for key, category in KIND_CATEGORIES.items():
        if kind == key or (key.endswith(".") and kind.startswith(key)):
            return category
    return None


class Preferences(models.Model):
    """How a person wants to hear about things when they are not on the page, and in which language."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_preferences")
    # Empty: the language they last browsed in (last_language, recorded by the middleware), else French.
    language = models.CharField(_("language of my notifications"), max_length=8, blank=True,
                                choices=[("", _("The one I last used"))] + list(settings.LANGUAGES))
    last_language = models.CharField(max_length=8, blank=True)
    reply = models.CharField(Category.REPLY.label, max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    mention = models.CharField(Category.MENTION.label, max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    conclusion = models.CharField(Category.CONCLUSION.label, max_length=8, choices=Channel.choices,
                                  default=Channel.EMAIL)
    message = models.CharField(Category.MESSAGE.label, max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    meeting = models.CharField(Category.MEETING.label, max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    moderation = models.CharField(Category.MODERATION.label, max_length=8, choices=Channel.choices,
                                  default=Channel.EMAIL)
    email_rhythm = models.CharField(_("e-mails"), max_length=8, choices=Rhythm.choices, default=Rhythm.DAILY)
    # Off by default: a push shows on a locked screen, where others may read it.
    push_message_text = models.BooleanField(_("show the text of private messages in push notifications"),
                                            default=False)
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"preferences of {self.user_id}"

    def channel(self, kind: str) -> str:
        category = category_of(kind)
        return getattr(self, category.value) if category is not None else Channel.SITE

    def wants_email(self, kind: str) -> bool:
        return self.channel(kind) == Channel.EMAIL and self.email_rhythm != Rhythm.NEVER

    @property
    def notification_language(self) -> str:
        codes = {code for code, _name in settings.LANGUAGES}
        for code in (self.language, self.last_language):
            if code in codes:
                return code
        return settings.LANGUAGE_CODE


class PushSubscription(models.Model):
    """One browser's Web Push subscription (one per device: its endpoint is unique); it lasts as long as the session
    that made it (dropped on sign-out, when the session expires or is cleared), until the push service answers
    404/410, and until its push service has been unreachable for a week."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    session_key = models.CharField(max_length=40, blank=True, db_index=True)  # its life: the session's
    created_at = models.DateTimeField(auto_now_add=True)
    # Since when its push service cannot be reached (refused, timed out, no such host) at every try; a success
    # clears it, and a try failing past push.UNREACHABLE_FOR deletes the subscription.
    failing_since = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"push subscription {self.pk} of {self.user_id}"
