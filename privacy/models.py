"""A person's "download my data" archives: asked for on the page, built by a background task, downloadable by them
only, until they expire."""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_token() -> str:
    return secrets.token_urlsafe(24)


class DataExport(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to start")
        RUNNING = "running", _("Being prepared")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    IN_PROGRESS = (Status.PENDING, Status.RUNNING)  # being built, or waiting for the worker

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports")
    # The archive's address: unguessable, and still checked against the signed-in person.
    token = models.CharField(max_length=64, unique=True, default=new_token)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text=_("Percent done."))
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Kept in the database: every web process of every host can serve it, and it goes with the account.
    archive = models.BinaryField(null=True, blank=True, editable=False)
    size = models.PositiveIntegerField(default=0)
    # Raised by an erasure while this archive is being built (it may have read the erased person already): the build
    # stores its archive only if this is still the number it read when it started, else it reads everything again.
    generation = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"export {self.pk} of {self.user_id} ({self.status})"

    def get_absolute_url(self):
        return reverse("privacy:download", args=[self.token])

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and timezone.now() >= self.expires_at

    @property
    def in_progress(self) -> bool:
        return self.status in self.IN_PROGRESS
