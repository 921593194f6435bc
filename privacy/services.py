"""Personal data: "download my data" archives (RGPD articles 15 and 20) and the retention rules."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Concat
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from live import ratelimit
from live.notifications.services import language_of, notify
from privacy import selectors
from privacy.models import DataExport

logger = logging.getLogger(__name__)

STUCK = timedelta(hours=1)


def ensure_can_export(user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to download your data. A meeting guest without an account has no personal "
                                 "data here beyond the anonymous contributions shown in the meeting."))


@transaction.atomic
def request_export(*, user) -> DataExport:
    """Ask for an archive of everything `user` has here; it is built off the request path (privacy.tasks), and a
    notification links to it when ready. An archive still in preparation is returned instead of a second one."""
    ensure_can_export(user)
    # One request at a time per person (two tabs, a double click): the second waits here, then finds the first's.
    # NO KEY: their other writes (rows pointing to them) do not wait for it.
    get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).exists()
    pending = DataExport.objects.filter(user=user, status__in=DataExport.IN_PROGRESS)
    # A task cut short (its worker killed) never finishes its archive: after STUCK it counts as failed.
    pending.filter(created_at__lt=timezone.now() - STUCK).update(status=DataExport.Status.FAILED)
    if (export := pending.first()) is not None:
        return export
    ratelimit.enforce("export", user)
    export = DataExport.objects.create(user=user)
    from privacy.tasks import build_export

    # In this transaction: the task row (django-tasks-db) commits with the export or not at all.
    build_export.enqueue(export.pk)
    return export


def _json_value(value):
    """The JSON of what json.dumps does not know: the selectors' datetimes, as ISO 8601."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _progress(export: DataExport, **fields) -> None:
    DataExport.objects.filter(pk=export.pk).update(**fields)


def build_export(*, export_id: int) -> DataExport | None:
    """Build the ZIP: one JSON file per kind of data (privacy.selectors.KINDS) and a readable index.html, in the
    person's language. Progress is saved after each kind, for the page that shows it. An erasure committed while it
    was being built (erase_exports raises `generation`) makes it read everything again before it is stored."""
    export = DataExport.objects.select_related("user").filter(pk=export_id).first()
    if export is None or not export.in_progress:
        return export  # erased meanwhile, or already built by an earlier run
    try:
        while True:
            # Read before the data: an erasure that commits after this read changes it, one before is in the data.
            # Given up meanwhile (a build over STUCK counts as failed, and its owner may have asked again): left so.
            started = DataExport.objects.filter(pk=export.pk, status__in=DataExport.IN_PROGRESS).update(
                status=DataExport.Status.RUNNING, progress=0)
            generation = DataExport.objects.filter(pk=export.pk).values_list("generation", flat=True).first()
            if generation is None:
                return None  # its owner erased meanwhile: the archive went with the account
            if not started:
                break
            content = _archive(export)
            if _store(export, generation, content):
                break
        export.refresh_from_db()
    except Exception:
        logger.exception("data export %s failed", export.pk)
        _progress(export, status=DataExport.Status.FAILED)
        raise
    return export


def _archive(export: DataExport) -> bytes:
    user = export.user
    # The person's language (the one of their notifications), not the site's nor the worker's.
    language = language_of(user)
    with translation.override(language):
        buffer = io.BytesIO()
        sections = []
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for done, (name, title, read) in enumerate(selectors.KINDS, start=1):
                data = read(user)
                text = json.dumps(data, ensure_ascii=False, indent=2, default=_json_value)
                archive.writestr(f"{name}.json", text)
                sections.append({"file": f"{name}.json", "title": title, "data": data,
                                 "count": len(data) if isinstance(data, list) else None})
                _progress(export, progress=int(done * 90 / len(selectors.KINDS)))
            archive.writestr("index.html", render_to_string("privacy/export_index.html", {
                "person": user, "sections": sections, "generated_at": timezone.now(), "language": language}))
        return buffer.getvalue()


@transaction.atomic
def _store(export: DataExport, generation: int, content: bytes) -> bool:
    """Store the archive and tell its owner, unless an erasure raised its generation since it was read (whether
    one does now, not yet committed: this waits for it) or the build was given up meanwhile (STUCK: no longer
    running); whether it was stored."""
    now = timezone.now()
    stored = DataExport.objects.filter(pk=export.pk, generation=generation, status=DataExport.Status.RUNNING).update(
        status=DataExport.Status.READY, progress=100, archive=content, size=len(content), finished_at=now,
        expires_at=now + timedelta(hours=settings.PRIVACY_EXPORT_HOURS))
    if not stored:
        return False
    export.refresh_from_db()
    notify(user=export.user, kind="export_ready", url=export.get_absolute_url(),
           text=gettext_lazy("Your data is ready to download until %(date)s."), params={
               "date": timezone.localtime(export.expires_at).strftime("%d/%m/%Y %H:%M")})
    return True


def download(*, user, token: str) -> DataExport:
    """The archive behind `token`, for its owner only, while it has not expired."""
    ensure_can_export(user)
    export = DataExport.objects.filter(token=token, user=user).first()
    if export is None:
        # Someone else's link looks exactly like one that does not exist.
        raise PermissionDenied(_("This download link is not yours, or does not exist. Ask for your own archive on "
                                 "the “My data” page."))
    if export.is_expired:
        raise PermissionDenied(_("This archive has expired and was deleted. Ask for a new one on the “My data” page."))
    if export.status != DataExport.Status.READY:
        raise PermissionDenied(_("This archive is not ready yet. Its progress shows on the “My data” page."))
    ratelimit.enforce("export_download", user)
    return export


# --- retention -----------------------------------------------------------------------------------------------------

BATCH = 1000


def _in_batches(queryset, change) -> int:
    """Apply `change(rows)` to `queryset` a batch of primary keys at a time, each batch its own transaction: an
    interrupted run keeps what it finished, and the next run (the same rules) does the rest."""
    done = 0
    while True:
        with transaction.atomic():
            pks = list(queryset.values_list("pk", flat=True)[:BATCH])
            if not pks:
                return done
            change(queryset.model.objects.filter(pk__in=pks))
            done += len(pks)


def _before(days: int):
    return timezone.now() - timedelta(days=days) if days > 0 else None


def _forget_messages(rows) -> None:
    """Private messages past retention, and moderation's quotes of them (a reported message's case and log)."""
    from live.moderation.services import forget_excerpts

    forget_excerpts(kind="message", object_ids=list(rows.values_list("pk", flat=True)))
    rows.delete()


def _forget_deleted_comments(rows) -> None:
    """Comments their authors deleted, past retention: the placeholder stays (the replies keep their place), the
    text goes, and moderation's quotes of it."""
    from live.moderation.services import forget_excerpts

    forget_excerpts(kind="comment", object_ids=list(rows.values_list("pk", flat=True)))
    rows.update(body="", body_html="")


def _forget_admin_log_words() -> int:
    """The admin's log entries recorded before it named comments and debates by number (live.adminlog): their
    words (a comment's start, also of one removed or erased since) become that number."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from live.adminlog import label, models_logged_by_number

    done = 0
    for model in models_logged_by_number():
        numbered = Concat(Value(label(model, "")), F("object_id"), output_field=CharField())
        done += _in_batches(LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model))
                            .exclude(object_repr=numbered), lambda rows, numbered=numbered: rows.update(
                                object_repr=numbered))
    return done


def apply_retention() -> dict[str, int]:
    """Forget what is past its retention (PRIVACY_*_DAYS; 0 keeps it): private messages (and moderation's quotes
    of them), notifications, anonymous meeting guests' nicknames and IPs, IPs of meeting participations, the text
    of comments their authors deleted (and moderation's quotes of it), expired archives and, later, their records,
    the e-mail addresses no longer the account's, the words of older admin log entries, finished background
    tasks; and the stream event log (LIVE_RETENTION_DAYS). Idempotent and safe to
    interrupt (batches)."""
    from allauth.account.models import EmailAddress
    from django_tasks_db.models import DBTaskResult

    from live import streams
    from live.messaging.models import Message
    from live.notifications.models import Notification
    from meetings.models import FORGOTTEN_TOKEN, Participant, forgotten_token

    done = {}
    if cutoff := _before(settings.PRIVACY_MESSAGES_DAYS):
        done["messages"] = _in_batches(Message.objects.filter(created_at__lt=cutoff), _forget_messages)
    if cutoff := _before(settings.PRIVACY_NOTIFICATIONS_DAYS):
        done["notifications"] = _in_batches(Notification.objects.filter(created_at__lt=cutoff),
                                            lambda rows: rows.delete())
    if cutoff := _before(settings.PRIVACY_GUESTS_DAYS):
        done["guests"] = _in_batches(
            Participant.objects.filter(user__isnull=True, joined_at__lt=cutoff).exclude(
                nickname="", ip=None, token__startswith=FORGOTTEN_TOKEN),
            lambda rows: rows.update(nickname="", ip=None, token=forgotten_token()))
    if cutoff := _before(settings.PRIVACY_IP_DAYS):
        done["ips"] = _in_batches(Participant.objects.filter(joined_at__lt=cutoff, ip__isnull=False),
                                  lambda rows: rows.update(ip=None))
    if cutoff := _before(settings.PRIVACY_DELETED_DAYS):
        from debates.models import Comment

        done["deleted"] = _in_batches(Comment.objects.filter(deleted_at__lt=cutoff).exclude(body="", body_html=""),
                                      _forget_deleted_comments)
    done["archives"] = _in_batches(
        DataExport.objects.filter(expires_at__lt=timezone.now(), archive__isnull=False),
        lambda rows: rows.update(archive=None, size=0))
    if cutoff := _before(settings.PRIVACY_EXPORT_RECORDS_DAYS):
        # Their bytes gone, the rows still say who asked for their data and when; one never ready (failed, or cut
        # short: STUCK is an hour) counts from when it was asked for.
        done["export_records"] = _in_batches(
            DataExport.objects.filter(Q(expires_at__lt=cutoff) | Q(expires_at__isnull=True, created_at__lt=cutoff)),
            lambda rows: rows.delete())
    done["admin_log"] = _forget_admin_log_words()
    # The addresses allauth recorded (the one Decidim sent at sign-up) that are no longer the account's: its own
    # address changed since (an administrator's fix). Only the current one has a use; no date to count from.
    done["old_emails"] = _in_batches(
        EmailAddress.objects.filter(~Q(email__iexact=F("user__email")) | Q(user__email__isnull=True)),
        lambda rows: rows.delete())
    if cutoff := _before(settings.PRIVACY_TASK_RESULTS_DAYS):
        done["tasks"] = _in_batches(DBTaskResult.objects.filter(finished_at__lt=cutoff), lambda rows: rows.delete())
    done["events"] = streams.prune()
    return done


def _names(archive: bytes, needles: list[str]) -> bool:
    """Whether one of `needles` (lower case) is in one of the archive's JSON files (those hold all it shows)."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        for name in opened.namelist():
            if name.endswith(".json"):
                text = opened.read(name).decode().lower()
                if any(needle in text for needle in needles):
                    return True
    return False


def erase_exports(*, user, former: dict) -> None:
    """An erasure step (live.features): the person's archives go with their account, and the others' archives
    still stored that hold their name or address (a conversation with them, a notification naming them, a block)
    are built again without them (an expired one loses its bytes at once): the worker reads the erased rows once
    the erasure commits (and the immediate backend, inline, after the other apps' steps: privacy comes after them
    in INSTALLED_APPS)."""
    from privacy.tasks import build_export

    DataExport.objects.filter(user=user).delete()
    # Those being built may have read them already: they read everything again before they are stored (build_export).
    DataExport.objects.filter(status__in=DataExport.IN_PROGRESS).update(
        generation=F("generation") + 1)
    needles = [value.lower() for value in (former["nickname"], former["email"]) if value]
    stored = DataExport.objects.filter(status=DataExport.Status.READY, archive__isnull=False).order_by("pk")
    for export in stored.iterator(chunk_size=50):
        if export.is_expired:
            # Past its time, waiting for apply_retention: its bytes go now, nobody is sent an archive anew.
            DataExport.objects.filter(pk=export.pk).update(archive=None, size=0)
        elif _names(bytes(export.archive), needles):
            DataExport.objects.filter(pk=export.pk).update(
                status=DataExport.Status.PENDING, progress=0, archive=None, size=0, finished_at=None,
                expires_at=None)
            build_export.enqueue(export.pk)
