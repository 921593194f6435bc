"""Moderation records: a Case per reported or moderated item, the Reports people filed about it, and the log of
every moderator action.

The moderated content itself lives in its own app (a comment, a message, a contribution) and is reached through
the registry (`kind` + `object_id`); its visibility is the app's own state (`is_hidden`). A Case keeps what
moderation needs on top: who reported it, whether it awaits a decision, and why it was hidden (shown to its author).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from live.text import TextValidator


class Reason(models.TextChoices):
    SPAM = "spam", _("Spam")
    OFFENSIVE = "offensive", _("Offensive")
    DOES_NOT_BELONG = "does_not_belong", _("Does not belong here")
    OTHER = "other", _("Other")


class Case(models.Model):
    """One reported or moderated item. `status` is OPEN while reports await a moderator's decision.

    `report_count` counts distinct reporters whose report is still pending; it drives the queue order and
    auto-hide. `hidden_at`/`hidden_reason` mirror the last moderation decision, for the author's own page."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting review")
        RESOLVED = "resolved", _("Decided")

    kind = models.CharField(max_length=30)
    object_id = models.BigIntegerField()
    space = models.CharField(max_length=100, blank=True, db_index=True,
                             help_text=_('Where the item lives, e.g. "debate.42"; its moderators may act on it.'))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="moderation_cases")
    excerpt = models.TextField(blank=True, help_text=_("The item's text when last reported or acted on."))
    url = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    report_count = models.PositiveIntegerField(default=0)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    hidden_reason = models.TextField(blank=True)
    auto_hidden = models.BooleanField(default=False, help_text=_("Hidden automatically by the report threshold."))
    created_at = models.DateTimeField(auto_now_add=True)
    last_reported_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="moderation_case_unique")]
        indexes = [models.Index(fields=["status", "-last_reported_at"])]

    def __str__(self):
        return f"{self.kind}#{self.object_id} ({self.status})"

    @property
    def dom_id(self) -> str:
        return f"case-{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Report(models.Model):
    """One person's report about one item; reporting again updates it (and reopens it after a decision)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    kind = models.CharField(max_length=30)
    object_id = models.BigIntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    details = models.TextField(blank=True, max_length=1000, validators=[TextValidator(multiline=True)])
    resolved_at = models.DateTimeField(null=True, blank=True, help_text=_("When a moderator decided on it."))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reporter", "kind", "object_id"],
                                               name="moderation_report_once_per_person")]
        ordering = ["-updated_at"]

    def __str__(self):
        return f"{self.reporter} reports {self.kind}#{self.object_id}: {self.reason}"


class ActionLog(models.Model):
    """Every moderation action: who (None = automatic), what, on which item or user, when, why. An account
    deactivated or reactivated (live.accounts.services) is logged here too, as a block is."""

    class Action(models.TextChoices):
        HIDE = "hide", _("Hide")
        AUTO_HIDE = "auto_hide", _("Hidden automatically")
        UNHIDE = "unhide", _("Unhide")
        DISMISS = "dismiss", _("Dismiss reports")
        LOCK = "lock", _("Lock comments")
        UNLOCK = "unlock", _("Unlock comments")
        SLOW_MODE = "slow_mode", _("Slow mode")
        WARN = "warn", _("Warn")
        BLOCK = "block", _("Block")
        UNBLOCK = "unblock", _("Unblock")
        DEACTIVATE = "deactivate", _("Deactivate the account")
        REACTIVATE = "reactivate", _("Reactivate the account")

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="moderation_actions")
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    kind = models.CharField(max_length=30, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    space = models.CharField(max_length=100, blank=True, db_index=True)
    target_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="moderation_actions_received")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    reason = models.TextField(blank=True)
    excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor or 'auto'} {self.action} {self.kind}#{self.object_id}"
