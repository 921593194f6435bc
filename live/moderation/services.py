"""Moderation services: report, hide, unhide, dismiss, space controls (lock, slow mode), warn, block, unblock.

Every function checks the actor's permission against the database (a revoked moderator cannot act), rate-limits,
writes, logs an ActionLog row, and appends `case.updated` to the moderation streams (`moderation.global` and
`moderation.<space>`) so every moderator's queue changes at once. Content visibility is changed by the owning app's
own services through the registry, which append their own events (the content vanishes from every open page).
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from live import effects, ratelimit, streams
from live.accounts.models import Role, erased_name_stored
from live.close_codes import Close
from live.moderation import registry, rules
from live.moderation.models import ActionLog, Case, Reason, Report
from live.text import clean_user_text

logger = logging.getLogger(__name__)

GLOBAL_STREAM = "moderation.global"
BLOCKED_SESSION_FLAG = "moderation_blocked"
_SPACE_RE = re.compile(r"^[a-z][a-z_]{0,30}(\.[A-Za-z0-9_-]{1,40}){1,2}$")


def threshold() -> int:
    return settings.MODERATION_AUTO_HIDE_THRESHOLD


# --- helpers ---------------------------------------------------------------------------------------------------------

def case_streams(space: str) -> list[str]:
    keys = [GLOBAL_STREAM]
    if space and _SPACE_RE.match(space):
        keys.append(f"moderation.{space}")
    return keys


def _announce(case: Case) -> None:
    for key in case_streams(case.space):
        streams.append(key, "case.updated", case=case.pk)


def _entry(kind: str) -> registry.Moderatable:
    entry = registry.get(kind)
    if entry is None:
        raise ValidationError(_("This kind of content cannot be reported."))
    return entry


def _object(entry: registry.Moderatable, object_id):
    try:
        pk = int(object_id)
        if not 0 < pk < 2**63:  # beyond a bigint the database would raise instead of answering "no such row"
            raise ValueError(pk)
        return entry.get_object(pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise ValidationError(_("This content no longer exists.")) from None


def _space(entry, obj) -> str:
    return (entry.space(obj) or "") if entry.space else ""


def _snapshot(case: Case, entry, obj) -> None:
    try:
        case.excerpt = (entry.excerpt(obj) or "")[:1000]
        case.url = (entry.url(obj) or "")[:300]
    except Exception:  # a broken excerpt must not stop a moderation decision
        logger.exception("excerpt of %s#%s failed", entry.kind, obj.pk)


def _author(entry, obj):
    author = entry.author(obj)
    return author if getattr(author, "pk", None) else None


def _clean_reason(reason: str, *, required: bool, max_length: int = registry.REASON_MAX_LENGTH) -> str:
    return clean_user_text(reason, multiline=True, max_length=max_length, required=required, messages={
        "required": _("Give a reason: it is shown to the person concerned and kept in the log."),
        "too_long": _("The reason is too long (%(max)s characters at most).")})


def ensure_can_moderate(actor, space: str | None):
    """The actor as stored now, if they may moderate `space` (None: global moderators only)."""
    current = rules.fresh(actor)
    if current is None or not rules.can_moderate(current, space):
        raise PermissionDenied(_("You are not a moderator here."))
    return current


def _ensure_not_own(actor, entry, obj) -> None:
    """Nobody decides on reports about their own content, nor reads who reported it: another moderator does."""
    author = _author(entry, obj)
    if author is not None and author.pk == actor.pk:
        raise PermissionDenied(_("This is your own content: another moderator decides on it."))


def _log(*, actor, action, case=None, kind="", object_id=None, space="", target_user=None, reason="", excerpt=""):
    if case is not None:
        kind, object_id, space = case.kind, case.object_id, case.space
        excerpt = excerpt or case.excerpt
        target_user = target_user or case.author
    return ActionLog.objects.create(actor=actor, action=action, case=case, kind=kind, object_id=object_id,
                                    space=space or "", target_user=target_user, reason=reason,
                                    excerpt=(excerpt or "")[:1000])


def _counting(case: Case):
    """The reports about `case` that await a decision and still count: not those of an account blocked (or
    deactivated) since, who could otherwise keep hiding content after their block."""
    return case.reports.filter(resolved_at__isnull=True, reporter__blocked_at__isnull=True, reporter__is_active=True)


def _pending_count(case: Case) -> int:
    """The distinct people whose report about `case` awaits a decision and still counts (_counting)."""
    return _counting(case).count()


def _auto_hide_count(case: Case) -> int:
    """The pending reports that may hide the item automatically: those that count, but not those filed again by
    people whose report a moderator dismissed (they reopen the case for review; they cannot overrule the decision)."""
    qs = _counting(case)
    dismissed_at = case.actions.filter(action=ActionLog.Action.DISMISS).aggregate(at=Max("created_at"))["at"]
    if dismissed_at is not None:
        qs = qs.filter(created_at__gt=dismissed_at)
    return qs.count()


def _resolve(case: Case, now) -> None:
    case.reports.filter(resolved_at__isnull=True).update(resolved_at=now)
    case.report_count = 0
    case.status = Case.Status.RESOLVED


def _case_for(entry, obj, *, lock=True) -> Case:
    qs = Case.objects.select_for_update() if lock else Case.objects
    case, _created = qs.get_or_create(
        kind=entry.kind, object_id=obj.pk,
        defaults={"space": _space(entry, obj), "author": _author(entry, obj), "status": Case.Status.RESOLVED},
    )
    return case


def _notify(user, *, kind: str, text, params: dict) -> None:
    """`text` lazy, with its `params`: written in the recipient's language."""
    if user is None:
        return
    from live.notifications.services import notify

    notify(user=user, kind=kind, text=text, params=params, url=reverse("moderation:mine"))


def _kind_name(entry):
    return entry.label or entry.model._meta.verbose_name  # lazy: in the recipient's language


# --- reports ---------------------------------------------------------------------------------------------------------

@transaction.atomic
def report(*, reporter, kind: str, object_id, reason: str, details: str = "") -> Report:
    """File (or update) `reporter`'s report about one item. Hides it automatically once
    MODERATION_AUTO_HIDE_THRESHOLD distinct people have reports pending about it."""
    if not getattr(reporter, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to report content."))
    current = rules.fresh(reporter)
    if current is None or current.is_blocked or not current.is_active:
        raise PermissionDenied(_("Your account cannot report content."))
    ratelimit.enforce("report", reporter)
    if reason not in Reason.values:
        raise ValidationError({"reason": _("Choose a reason.")})
    details = clean_user_text(details, multiline=True, max_length=1000, required=False, key="details",
                              messages={"too_long": _("Details are limited to 1000 characters.")})
    entry = _entry(kind)
    obj = _object(entry, object_id)
    author = _author(entry, obj)
    if author is not None and author.pk == current.pk:
        raise ValidationError(_("You cannot report your own content."))
    if not entry.can_report(obj, current):
        raise PermissionDenied(_("You cannot report this."))

    now = timezone.now()
    case = _case_for(entry, obj)
    existing = Report.objects.filter(case=case, reporter=current).first()
    if existing is None:
        filed = Report.objects.create(case=case, reporter=current, kind=entry.kind, object_id=obj.pk, reason=reason,
                                      details=details)
    else:
        existing.reason, existing.details, existing.resolved_at = reason, details, None
        existing.save(update_fields=["reason", "details", "resolved_at", "updated_at"])
        filed = existing
    case.report_count = _pending_count(case)
    case.status = Case.Status.OPEN
    case.last_reported_at = now
    if not case.space:
        case.space = _space(entry, obj)
    _snapshot(case, entry, obj)

    if entry.hideable and _auto_hide_count(case) >= threshold() and not entry.is_hidden(obj):
        with translation.override(settings.LANGUAGE_CODE):
            why = _("Hidden automatically after several reports, until a moderator reviews it.")
        entry.hide(obj, actor=None, reason=why)
        case.hidden_at, case.hidden_by, case.hidden_reason, case.auto_hidden = now, None, why, True
        case.save()
        _log(actor=None, action=ActionLog.Action.AUTO_HIDE, case=case,
             reason=_("%(count)s people reported it.") % {"count": case.report_count})
        _notify(author, kind="moderation.hidden",
                text=gettext_lazy("Your %(kind)s was hidden after several reports, until a moderator reviews it."),
                params={"kind": _kind_name(entry)})
    else:
        case.save()
    _announce(case)
    return filed


# --- decisions on one item ---------------------------------------------------------------------------------------------

def _target(kind, object_id):
    entry = _entry(kind)
    obj = _object(entry, object_id)
    if entry.report_only and not Report.objects.filter(kind=entry.kind, object_id=obj.pk).exists():
        # Private content reaches moderation only through a participant's report: an unreported item gets the
        # very answer a missing one gets, so that its existence does not leak, and no case (no excerpt) is made.
        raise ValidationError(_("This content no longer exists."))
    return entry, obj


def _record_hide(entry, obj, *, actor, reason: str, case: Case | None = None) -> Case:
    """Moderation's record of a hide by `actor` (a moderator's, or a block's): the case says hidden, by whom and why
    (the author's page, the facilitators' refusal to unhide), its reports close, the log counts it."""
    now = timezone.now()
    case = case or _case_for(entry, obj)
    _snapshot(case, entry, obj)
    case.hidden_at, case.hidden_by, case.hidden_reason, case.auto_hidden = now, actor, reason, False
    _resolve(case, now)
    case.save()
    _log(actor=actor, action=ActionLog.Action.HIDE, case=case, reason=reason)
    return case


@transaction.atomic
def hide(*, actor, kind: str, object_id, reason: str) -> Case:
    """Hide one item everywhere at once; the reason is shown to its author. Closes its pending reports."""
    entry, obj = _target(kind, object_id)
    if not entry.hideable:
        raise ValidationError(_("This cannot be hidden; warn or block the person instead."))
    actor = ensure_can_moderate(actor, _space(entry, obj))
    _ensure_not_own(actor, entry, obj)
    ratelimit.enforce("moderate", actor)
    reason = _clean_reason(reason, required=False, max_length=500)
    if not reason:  # a one-click "Hide" on a content page: the author still gets a reason
        with translation.override(settings.LANGUAGE_CODE):
            reason = _("This breaks the rules of the platform.")
    case = _case_for(entry, obj)  # locked before the item, as report() does
    if not entry.is_hidden(obj):
        entry.hide(obj, actor=actor, reason=reason)
    case = _record_hide(entry, obj, actor=actor, reason=reason, case=case)
    _notify(case.author, kind="moderation.hidden",
            text=gettext_lazy("A moderator hid your %(kind)s: %(reason)s"),
            params={"kind": _kind_name(entry), "reason": reason})
    _announce(case)
    return case


@transaction.atomic
def unhide(*, actor, kind: str, object_id, reason: str = "") -> Case:
    """Show a hidden item again, everywhere at once. Closes its pending reports."""
    entry, obj = _target(kind, object_id)
    if not entry.hideable:
        raise ValidationError(_("This cannot be hidden; warn or block the person instead."))
    actor = ensure_can_moderate(actor, _space(entry, obj))
    _ensure_not_own(actor, entry, obj)
    ratelimit.enforce("moderate", actor)
    reason = _clean_reason(reason, required=False)
    case = _case_for(entry, obj)
    if entry.is_hidden(obj):
        entry.unhide(obj, actor=actor)
    now = timezone.now()
    was_hidden = case.hidden_at is not None
    _snapshot(case, entry, obj)
    case.hidden_at, case.hidden_by, case.hidden_reason, case.auto_hidden = None, None, "", False
    _resolve(case, now)
    case.save()
    _log(actor=actor, action=ActionLog.Action.UNHIDE, case=case, reason=reason)
    if was_hidden:
        _notify(case.author, kind="moderation.unhidden",
                text=gettext_lazy("Your %(kind)s is visible again after a moderator's review."),
                params={"kind": _kind_name(entry)})
    _announce(case)
    return case


@transaction.atomic
def dismiss(*, actor, kind: str, object_id, reason: str = "") -> Case:
    """Close the pending reports without hiding: the content is fine. Content that the reports alone had hidden
    (auto-hide) is shown again; content a moderator hid stays hidden."""
    entry, obj = _target(kind, object_id)
    actor = ensure_can_moderate(actor, _space(entry, obj))
    _ensure_not_own(actor, entry, obj)
    ratelimit.enforce("moderate", actor)
    reason = _clean_reason(reason, required=False)
    case = _case_for(entry, obj)
    now = timezone.now()
    _snapshot(case, entry, obj)
    if case.auto_hidden and entry.hideable and entry.is_hidden(obj):
        entry.unhide(obj, actor=actor)
        case.hidden_at, case.hidden_by, case.hidden_reason, case.auto_hidden = None, None, "", False
        _notify(case.author, kind="moderation.unhidden",
                text=gettext_lazy("Your %(kind)s is visible again after a moderator's review."),
                params={"kind": _kind_name(entry)})
    _resolve(case, now)
    case.save()
    _log(actor=actor, action=ActionLog.Action.DISMISS, case=case, reason=reason)
    _announce(case)
    return case


ACTIONS = {"hide": hide, "unhide": unhide, "dismiss": dismiss}


# --- space controls ----------------------------------------------------------------------------------------------------

def _space_target(space_key: str):
    found = registry.get_space(space_key)
    if found is None:
        raise ValidationError(_("This space does not exist or offers no moderation controls."))
    return found


@transaction.atomic
def set_lock(*, actor, space: str, locked: bool, reason: str = "") -> None:
    """Lock (or unlock) a debate's comments: the forms change for everyone on the page (the app's event)."""
    registration, obj = _space_target(space)
    actor = ensure_can_moderate(actor, space)
    ratelimit.enforce("moderate", actor)
    reason = _clean_reason(reason, required=locked, max_length=500)
    if registration.lock is None:
        raise ValidationError(_("Comments cannot be locked here."))
    if not locked and not registration.is_locked(obj):
        return  # already open (an unlock sent twice): nothing to do, nothing to log
    registration.lock(obj, actor=actor, locked=locked, reason=reason)
    _log(actor=actor, action=ActionLog.Action.LOCK if locked else ActionLog.Action.UNLOCK, kind=registration.prefix,
         object_id=obj.pk, space=space, reason=reason, excerpt=str(registration.title(obj))[:200])


@transaction.atomic
def set_slow_mode(*, actor, space: str, seconds: int, reason: str = "") -> None:
    """Let each participant post at most once every `seconds` in a debate or meeting (0 turns it off)."""
    registration, obj = _space_target(space)
    actor = ensure_can_moderate(actor, space)
    ratelimit.enforce("moderate", actor)
    try:
        seconds = int(seconds)
    except (TypeError, ValueError):
        raise ValidationError(_("Slow mode takes a number of seconds.")) from None
    if not 0 <= seconds <= 3600:
        raise ValidationError(_("Slow mode is between 0 (off) and 3600 seconds."))
    reason = _clean_reason(reason, required=False, max_length=500)
    if registration.slow_mode is None:
        raise ValidationError(_("Slow mode is not available here."))
    registration.slow_mode(obj, actor=actor, seconds=seconds, reason=reason)
    _log(actor=actor, action=ActionLog.Action.SLOW_MODE, kind=registration.prefix, object_id=obj.pk, space=space,
         reason=f"{seconds}s" + (f" — {reason}" if reason else ""), excerpt=str(registration.title(obj))[:200])


# --- people ------------------------------------------------------------------------------------------------------------

def _ensure_can_act_on_user(actor, user, *, case: Case | None = None):
    """Global moderators act on anyone but administrators and fellow moderators (administrators may); a space
    moderator may warn the author of an item of their space."""
    own_space_case = case is not None and case.author_id == user.pk and case.space
    current = ensure_can_moderate(actor, case.space if own_space_case else None)
    if user.pk == current.pk:
        raise ValidationError(_("You cannot do this to your own account."))
    target = get_user_model().objects.get(pk=user.pk)
    if (target.role in (Role.MODERATOR, Role.ADMINISTRATOR) or target.is_superuser) and not rules.is_administrator(
            current):
        raise PermissionDenied(_("Only administrators can act on moderators and administrators."))
    return current, target


@transaction.atomic
def warn(*, actor, user, reason: str, case: Case | None = None) -> ActionLog:
    """Send the person a warning notification with the moderator's reason."""
    actor, user = _ensure_can_act_on_user(actor, user, case=case)
    if case is not None and case.author_id != user.pk:  # the case a warning is filed under is about its person
        raise ValidationError(_("This report is about someone else's content."))
    ratelimit.enforce("moderate", actor)
    reason = _clean_reason(reason, required=True, max_length=500)
    entry = _log(actor=actor, action=ActionLog.Action.WARN, case=case, target_user=user, reason=reason,
                 kind="user" if case is None else "", object_id=user.pk if case is None else None)
    _notify(user, kind="moderation.warning", text=gettext_lazy("A moderator warns you: %(reason)s"),
            params={"reason": reason})
    return entry


@transaction.atomic
def block(*, actor, user, reason: str, hide_content: bool = False) -> ActionLog:
    """Block an account: every socket of theirs closes at once, their sessions end, sign-in is refused, their name
    shows as "blocked user"; optionally everything they wrote is hidden. They are told why by email."""
    actor, user = _ensure_can_act_on_user(actor, user)
    ratelimit.enforce("moderate", actor)
    reason = _clean_reason(reason, required=True)
    if user.is_blocked:
        raise ValidationError(_("This account is already blocked."))
    if hide_content:
        # The cases of their content locked first, in one order, as report() and hide() lock a case before its item
        # and the author's notification stream: a report hiding one of these items at the same moment waits here,
        # instead of holding the case this block would need while waiting for the item or the stream it holds (a
        # deadlock, one of the two failing).
        list(Case.objects.select_for_update().filter(author=user).order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    user.blocked_at, user.blocked_reason = now, reason
    user.save(update_fields=["blocked_at", "blocked_reason"])
    from live.accounts.services import end_sessions

    # Their sessions keep a flag naming the account, so that their next request says why it lands on the sign-in
    # page, while the account is still blocked (BlockedSessionMiddleware).
    end_sessions(user=user, reason="blocked", code=Close.FORBIDDEN, leave={BLOCKED_SESSION_FLAG: user.pk},
                 detail=str(_("Your account has been blocked by moderation.")))
    hidden_cases = []
    if hide_content:
        for entry in registry.all_kinds():
            if entry.hide_all_by is None:
                continue
            hidden = list(entry.hide_all_by(user, actor=actor, reason=reason) or ())
            if entry.report_only:  # an unreported private message stays out of moderation's records (no excerpt)
                reported = set(Report.objects.filter(kind=entry.kind, object_id__in=[obj.pk for obj in hidden])
                               .values_list("object_id", flat=True))
                hidden = [obj for obj in hidden if obj.pk in reported]
            hidden_cases += [_record_hide(entry, obj, actor=actor, reason=reason) for obj in hidden]
    log = _log(actor=actor, action=ActionLog.Action.BLOCK, kind="user", object_id=user.pk, target_user=user,
               reason=reason + (" [" + _("all their content hidden") + "]" if hide_content else ""))
    for case in Case.objects.select_for_update().filter(kind="user", object_id=user.pk, status=Case.Status.OPEN):
        _resolve(case, now)
        case.save()
        _announce(case)
    for case in hidden_cases:
        _announce(case)
    reports_no_longer_count(actor=actor, user=user)
    _email(user, _("Your Agora Live account has been blocked"),
           _("A moderator blocked your account for this reason:\n\n%(reason)s\n\nYou can no longer sign in. "
             "If you think this is a mistake, reply to this email.") % {"reason": reason})
    return log


def reports_no_longer_count(*, actor, user) -> None:
    """`user`'s pending reports stop counting: their account was blocked (`block`) or deactivated
    (live.accounts.services.deactivate), by `actor`. Each open case they reported is counted again (`_recount`).
    Call it in the transaction that blocked or deactivated them."""
    for case in Case.objects.select_for_update().filter(
            pk__in=Report.objects.filter(reporter=user, resolved_at__isnull=True).values("case_id"),
            status=Case.Status.OPEN).order_by("pk"):
        _recount(case, actor=actor)


def _recount(case: Case, *, actor) -> None:
    """A case one of whose reporters `actor` blocked or deactivated: their report no longer counts. What the reports
    alone had hidden and the others' reports no longer reach the threshold for is shown again; the case stays open
    for a moderator while others' reports are pending."""
    case.report_count = _pending_count(case)
    entry = registry.get(case.kind)
    if case.auto_hidden and case.hidden_at is not None and case.report_count < threshold() and entry is not None:
        try:
            obj = entry.get_object(case.object_id)
        except (entry.model.DoesNotExist, ValueError):
            obj = None
        if obj is not None and entry.is_hidden(obj):
            entry.unhide(obj, actor=actor)
        case.hidden_at, case.hidden_by, case.hidden_reason, case.auto_hidden = None, None, "", False
        _log(actor=actor, action=ActionLog.Action.UNHIDE, case=case,
             reason=_("Hidden by reports that no longer count: one came from an account blocked or deactivated "
                      "since."))
        _notify(case.author, kind="moderation.unhidden",
                text=gettext_lazy("Your %(kind)s is visible again after a moderator's review."),
                params={"kind": _kind_name(entry)})
    if case.report_count == 0:
        case.status = Case.Status.RESOLVED
    case.save()
    _announce(case)


@transaction.atomic
def unblock(*, actor, user, reason: str = "") -> ActionLog:
    actor, user = _ensure_can_act_on_user(actor, user)
    ratelimit.enforce("moderate", actor)
    reason = _clean_reason(reason, required=False)
    if not user.is_blocked:
        raise ValidationError(_("This account is not blocked."))
    user.blocked_at, user.blocked_reason = None, ""
    user.save(update_fields=["blocked_at", "blocked_reason"])
    log = _log(actor=actor, action=ActionLog.Action.UNBLOCK, kind="user", object_id=user.pk, target_user=user,
               reason=reason)
    _email(user, _("Your Agora Live account is unblocked"),
           _("A moderator unblocked your account. You can sign in again."))
    return log


def _email(user, subject: str, body: str) -> None:
    if not user.email:
        return
    address, subject, body = user.email, str(subject), str(body)
    effects.after_commit(f"moderation e-mail to user {user.pk}", lambda: send_mail(subject, body, None, [address]))


def forget_excerpts(*, kind: str, object_ids: list) -> None:
    """Items of `kind` deleted for retention (private messages past PRIVACY_MESSAGES_DAYS): the moderators' cases
    and log keep their facts (which item, who decided what, when) but no longer quote them. The open cases among
    them change at once on the moderators' queues."""
    cases = Case.objects.filter(kind=kind, object_id__in=object_ids)
    ActionLog.objects.filter(case__in=cases).update(excerpt="")
    cases.update(excerpt="")
    for case in cases.filter(status=Case.Status.OPEN).order_by("pk"):
        _announce(case)


def erase_person(*, user, former: dict) -> None:
    """An erasure step (live.features): the moderators' log keeps its facts (who acted, on which item, when,
    which decision) but no longer the erased person's words: the excerpts of their items, the details of their
    reports, and their name in reasons moderators wrote, in quotes of others' items and in others' reports (the
    whole name only, text.replace_name: "Propos racistes" stays when "rac" goes). The open cases that showed them change at once on the moderators' queues."""
    from live.text import replace_name

    Case.objects.filter(author=user).update(excerpt="")
    ActionLog.objects.filter(Q(case__author=user) | Q(target_user=user)).update(excerpt="")
    Report.objects.filter(reporter=user).update(details="")
    name, erased = former["nickname"], erased_name_stored()
    for entry in ActionLog.objects.filter(reason__icontains=name):
        reason = replace_name(entry.reason, name, erased)
        if reason != entry.reason:
            entry.reason = reason
            entry.save(update_fields=["reason"])
    # Others' items and reports may name them too ("@alice ment", "il s'en prend à Alice"): their quotes in the
    # cases and the log, and the reporters' details.
    renamed = set()
    for case in Case.objects.filter(Q(hidden_reason__icontains=name) | Q(excerpt__icontains=name)):
        reason, excerpt = replace_name(case.hidden_reason, name, erased), replace_name(case.excerpt, name, erased)
        if (reason, excerpt) != (case.hidden_reason, case.excerpt):
            case.hidden_reason, case.excerpt = reason, excerpt
            case.save(update_fields=["hidden_reason", "excerpt"])
            renamed.add(case.pk)
    for entry in ActionLog.objects.filter(excerpt__icontains=name):
        if (excerpt := replace_name(entry.excerpt, name, erased)) != entry.excerpt:
            entry.excerpt = excerpt
            entry.save(update_fields=["excerpt"])
    for report in Report.objects.filter(details__icontains=name):
        if (details := replace_name(report.details, name, erased)) != report.details:
            report.details = details
            report.save(update_fields=["details"])
            renamed.add(report.case_id)
    for case in (Case.objects.filter(Q(author=user) | Q(reports__reporter=user) | Q(pk__in=renamed),
                                     status=Case.Status.OPEN).distinct().order_by("pk")):
        _announce(case)
