"""Accounts: sign-up, roles, session ends. Every change that live clients must notice goes through the stream."""

import logging
from datetime import timedelta

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from live import effects, features, ratelimit, streams
from live.accounts import permissions, selectors
from live.accounts.models import Role, RoleAssignment
from live.close_codes import Close
from live.consumers import session_hash
from live.text import clean_user_text, replace_name

User = get_user_model()
logger = logging.getLogger(__name__)


@transaction.atomic
def sign_up(*, nickname: str, email: str, password: str, ip: str = "") -> User:
    """Create a participant account and welcome them (their first notification)."""
    ratelimit.enforce("signup", ip or "unknown")
    nickname = nickname.strip()
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.named(nickname).exists():
        raise ValidationError({"nickname": _("This nickname is already taken.")})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("An account already uses this email address.")})
    user = User(username=email, nickname=nickname, email=email)
    user.set_password(password)
    # `username` is the sign-in address; the email field validates it (an apostrophe is valid there).
    user.full_clean(exclude=["username"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the same nickname or address signed up in the same instant
        raise ValidationError(_("This nickname or email address was just taken. Please choose another.")) from None
    from live.notifications.services import notify

    notify(user=user, kind="welcome", text=gettext_lazy("Welcome to Agora Live, %(name)s!"),
           params={"name": nickname}, url="/")
    return user


def signed_in(*, session, user) -> None:
    """`user` just signed in or up in this browser: what the features kept in its session for the visitor (a
    meeting guest's participation) becomes the account's. A step that fails is logged and never stops the sign-in."""
    for step in features.sign_in_steps():
        try:
            step(session=session, user=user)
        except Exception:
            logger.exception("sign-in step %s failed for user %s", getattr(step, "__qualname__", step), user.pk)


@transaction.atomic
def update_profile(*, user, nickname: str, bio: str) -> User:
    """Change the public nickname and the "about me" text (already validated by ProfileForm). The rules on names
    apply to a changed nickname only: one kept as it is passes even if it predates a rule."""
    ratelimit.enforce("default", user)
    if User.objects.named(nickname).exclude(pk=user.pk).exists():
        raise ValidationError({"nickname": _("This nickname is already taken.")})
    bio = clean_user_text(bio, multiline=True, max_length=500, required=False, key="bio")
    before = user.nickname, user.bio
    user.nickname, user.bio = nickname, bio
    # The rules on names apply to a new name: one kept as it is, older than a rule, does not block the bio.
    kept = ["nickname"] if nickname == before[0] else []
    try:
        user.full_clean(exclude=["username", "password", *kept])
    except ValidationError:
        user.nickname, user.bio = before
        raise
    try:
        with transaction.atomic():
            user.save(update_fields=["nickname", "bio"])
    except IntegrityError:  # the same nickname taken in the same instant (in any case)
        user.nickname, user.bio = before
        raise ValidationError({"nickname": _("This nickname was just taken. Please choose another.")}) from None
    return user


@transaction.atomic
def set_role(*, actor, user, role: str, space: str = "") -> None:
    """Give `user` a global role (space="") or a role in one space. Their open sockets re-check at once."""
    ensure_can_change_roles(actor)
    if role not in Role.values:
        raise ValidationError(_("Unknown role."))
    before = followed_with_rights(user)
    revoked = False
    if space:
        RoleAssignment.objects.get_or_create(user=user, role=role, space=space)
    else:
        revoked = user.role not in (role, Role.PARTICIPANT)  # the role it had is taken away
        user.role = role
        # Administrators use the Django admin, which only lets staff in.
        user.is_staff = user.is_staff or role == Role.ADMINISTRATOR
        user.save(update_fields=["role", "is_staff"])
    roles_changed(user=user, revoked=revoked, before=before)


@transaction.atomic
def revoke_role(*, actor, user, role: str, space: str = "") -> None:
    """Take a role back; the sockets of `user` drop at once the streams it no longer allows."""
    ensure_can_change_roles(actor)
    before = followed_with_rights(user)
    if space:
        revoked = RoleAssignment.objects.filter(user=user, role=role, space=space).delete()[0] > 0
    else:
        revoked = user.role == role
        if revoked:
            user.role = Role.PARTICIPANT
            user.is_staff = user.is_staff and user.is_superuser
            user.save(update_fields=["role", "is_staff"])
    if revoked:
        roles_changed(user=user, revoked=True, before=before)


@transaction.atomic
def set_admin_rights(*, actor, user, is_staff: bool | None = None, is_superuser: bool | None = None,
                     groups=None, user_permissions=None) -> None:
    """Change what `user` may do in the Django admin (None: left as it is): staff status, superuser status, groups
    and permissions. Administrators only, as roles are (a superuser holds every role). Their open sockets re-check
    at once; when a right is taken away they close and reconnect, authorized afresh, as after `revoke_role`."""
    ensure_can_change_roles(actor)
    before = followed_with_rights(user)
    revoked = granted = False
    fields = []
    for name, value in (("is_staff", is_staff), ("is_superuser", is_superuser)):
        if value is not None and bool(value) != getattr(user, name):
            revoked, granted = revoked or not value, granted or bool(value)
            setattr(user, name, bool(value))
            fields.append(name)
    if fields:
        user.save(update_fields=fields)
    for relation, wanted in (("groups", groups), ("user_permissions", user_permissions)):
        if wanted is None:
            continue
        manager = getattr(user, relation)
        current, wanted = set(manager.all()), set(wanted)
        if current != wanted:
            revoked, granted = revoked or bool(current - wanted), granted or bool(wanted - current)
            manager.set(wanted)
    if revoked or granted:
        roles_changed(user=user, revoked=revoked, before=before)


@transaction.atomic
def deactivate(*, actor, user, reason: str = ""):
    """Deactivate `user`'s account: sign-in is refused, every session ends and every socket closes at once (4403,
    `deactivated`), the moderation streams their roles opened are told, and the moderators' log keeps who did it,
    when and why. By someone who may change that account, never to their own. An account already inactive: nothing
    changes, nothing is logged (None). Their pending reports stop counting, as a blocked person's do."""
    from live.moderation import services as moderation

    user, reason = _changing_activation(actor=actor, user=user, reason=reason)
    if not user.is_active:
        return None
    user.is_active = False
    user.save(update_fields=["is_active"])
    end_sessions(user=user, reason="deactivated", code=Close.FORBIDDEN, detail="This account was deactivated.")
    roles_changed(user=user)
    log = _log_activation(actor=actor, user=user, deactivated=True, reason=reason)
    moderation.reports_no_longer_count(actor=actor, user=user)  # as a block's: what only their reports hid shows
    return log


@transaction.atomic
def reactivate(*, actor, user, reason: str = ""):
    """Let `user` sign in again, by someone who may change that account; logged as `deactivate` is. An account
    already active: nothing changes, nothing is logged (None). A deleted account stays deleted."""
    user, reason = _changing_activation(actor=actor, user=user, reason=reason)
    if user.is_active:
        return None
    if user.is_erased:
        raise ValidationError(_("This account was deleted: it cannot be reactivated."))
    user.is_active = True
    user.save(update_fields=["is_active"])
    roles_changed(user=user)
    return _log_activation(actor=actor, user=user, deactivated=False, reason=reason)


def _changing_activation(*, actor, user, reason: str):
    """The account's row locked until the end of the transaction (two administrators deactivating it at once: the
    second finds it done and logs nothing), the permission checked against it as stored (its rights now), the
    reason cleaned. Returns `user` with its stored state (`is_active`, `erased_at`) set on it."""
    stored = User.objects.select_for_update().get(pk=user.pk)
    if not permissions.can_deactivate(actor, stored):
        if getattr(actor, "pk", None) == stored.pk:
            raise ValidationError(_("You cannot deactivate or reactivate your own account."))
        if permissions.can_change_accounts(actor):
            raise PermissionDenied(_("Only administrators can deactivate or reactivate an account holding rights."))
        raise PermissionDenied(_("You cannot deactivate or reactivate accounts."))
    reason = clean_user_text(reason, multiline=True, max_length=1000, required=False)
    user.is_active, user.erased_at = stored.is_active, stored.erased_at
    return user, reason


def _log_activation(*, actor, user, deactivated: bool, reason: str):
    """The moderators' log, as a block is: an administrator finds who deactivated whom, when and why."""
    from live.moderation.models import ActionLog

    action = ActionLog.Action.DEACTIVATE if deactivated else ActionLog.Action.REACTIVATE
    return ActionLog.objects.create(actor=actor, action=action, kind="user", object_id=user.pk, target_user=user,
                                    reason=reason)


def ensure_can_change_roles(actor) -> None:
    if not permissions.can_change_roles(actor):
        raise PermissionDenied(_("Only administrators can change roles."))


def followed_with_rights(user) -> frozenset[str]:
    """The streams `user` may follow only through a role, as stored now (moderation queues): what to pass as
    `before` to `roles_changed` when their rights are about to change."""
    from live.moderation import streams as moderation_streams

    stored = User.objects.filter(pk=user.pk).first() if user.pk else None
    return moderation_streams.followable(stored)


def roles_changed(*, user, revoked: bool = False, before: frozenset[str] = frozenset()) -> None:
    """Tell the sockets of `user` that their rights changed (also called by the admin and by meetings). A grant:
    they re-check every stream they follow. A revocation (or a change that may be one): they close and reconnect
    at once, authorized afresh from the database, so nothing the old role allowed outlives it on an open socket.

    That control travels on `user.<pk>`, in no fixed order with the other streams' events: each stream of `before`
    (`followed_with_rights`, read before the change) that `user` may no longer follow gets `moderators.changed`,
    a control in that stream's own order, so their sockets re-check before anything written on it afterwards
    (as meetings' console does with `facilitators.changed`)."""
    if revoked:
        _close_sockets(user=user, kind="roles.changed", code=Close.RECONNECT, reason="roles_changed",
                       detail="Your roles changed.")
    else:
        streams.append(user.stream_key, "roles.changed", _control={"reauthorize": True})
    if before:
        from live.moderation import streams as moderation_streams

        _role_streams_lost(moderation_streams.no_longer_followable(before, user))


def _role_streams_lost(keys) -> None:
    """`moderators.changed` on each of `keys`: their sockets re-check, in each stream's order, before anything
    written on it afterwards (someone who could follow it no longer may)."""
    if keys:
        streams.append_together(sorted(keys), "moderators.changed", _control={"reauthorize": True})


@transaction.atomic
def end_sessions(*, user, reason: str, detail: str = "", only: str | None = None, keep: tuple = (),
                 code: int = Close.NOT_SIGNED_IN, leave: dict | None = None) -> None:
    """The one way sessions of `user` stop being valid, and their sockets with them (RELIABILITY 13).

    - sign-out: `only` that session's key;
    - a password or e-mail change by the person: every other session ends; `keep` the keys of the session that
      made the change (before and after Django renewed it, as update_session_auth_hash does): its sockets
      reconnect at once with the renewed key;
    - a password reset, a deactivation, a block: every session.

    Each ended session leaves the store, or keeps only `leave` (a block leaves a flag so that the next request says
    why); each socket opened with it gets an `error` frame naming `reason` and closes with `code` once the
    transaction commits, within the sweep interval at worst. A block or a deactivation (`code` 4403, every session)
    also tells the moderation streams the account's roles opened (`moderators.changed`, as `roles_changed`). A socket also re-checks its session before every
    subscription (live.consumers), which covers the moments in between."""
    keys = [only] if only else [key for key in selectors.session_keys_of(user) if key not in keep]
    from live.notifications.services import unsubscribe_push

    for key in keys:
        unsubscribe_push(user=user, session_key=key)  # a device's pushes stop with the session that asked for them
    if leave is None:
        Session.objects.filter(session_key__in=keys).delete()
    else:
        Session.objects.filter(session_key__in=keys).update(
            session_data=Session.get_session_store_class()().encode(leave))
    _close_sockets(user=user, kind="account.blocked" if code == Close.FORBIDDEN else "session.ended", code=code,
                   reason=reason, detail=detail, only=only, reconnect=keep)
    if code == Close.FORBIDDEN and only is None:
        # Blocked or deactivated: the account holds no role any more (as after a revocation, roles_changed).
        from live.moderation import streams as moderation_streams

        _role_streams_lost(moderation_streams.opened_by_roles(user))


def _close_sockets(*, user, kind: str, code: int, reason: str, detail: str, only: str | None = None,
                   reconnect: tuple = ()) -> None:
    control = {"close": code, "reason": reason, "detail": detail or "Your session has ended."}
    if only:
        control["session"] = session_hash(only)
    if reconnect:
        control["reconnect"] = [session_hash(key) for key in reconnect if key]
    streams.append(user.stream_key, kind, _control=control)


# A Decidim-only account (no password here) proves it is its owner by signing in with Decidim again this recently.
FRESH_SIGN_IN = timedelta(minutes=10)


def ensure_can_erase(*, user, password: str | None) -> None:
    """The person erasing `user` is its owner now: the password typed again, or a fresh sign-in for an account
    without one (signed up through Decidim)."""
    if user.is_erased:
        raise ValidationError(_("This account is already deleted."))
    ratelimit.enforce("erase", user)
    if user.has_usable_password():
        if not password or not user.check_password(password):
            raise ValidationError({"password": _("This is not your password. Nothing was deleted.")})
    elif user.last_login is None or timezone.now() - user.last_login > FRESH_SIGN_IN:
        raise PermissionDenied(_("Sign in again with Decidim, then confirm within %(minutes)d minutes. Nothing was "
                                 "deleted.") % {"minutes": FRESH_SIGN_IN.seconds // 60})


@transaction.atomic
def erase_account(*, user, password: str | None = None) -> User:
    """Erase `user`'s account for good (RGPD article 17). What others see keeps its shape: the row stays, anonymous
    ("Deleted participant"), so their comments and contributions stay as placeholders where they were, their votes
    and poll answers keep counting, and the moderators' log keeps its facts. Everything personal goes: e-mail,
    names, bio, roles, sessions (their sockets close at once), the rate-limit counters, and what each app keeps
    (features.add_erasure_step: texts, IPs, notifications, Decidim links). The open pages update live through
    the apps' events. The address can sign up again as a new person."""
    user = User.objects.select_for_update().get(pk=user.pk)
    ensure_can_erase(user=user, password=password)
    former = {"nickname": user.nickname, "email": user.email or "", "username": user.username}
    end_sessions(user=user, reason="account_erased", detail="This account was deleted.")
    from live.moderation import streams as moderation_streams

    _role_streams_lost(moderation_streams.opened_by_roles(user))  # its roles go below
    label = f"@erased-{user.pk}"  # "@" is never in a chosen nickname nor first in an e-mail: no collision
    user.username = user.nickname = label
    user.email = None
    user.first_name = user.last_name = user.bio = user.blocked_reason = ""
    user.set_unusable_password()
    user.is_active = user.is_staff = user.is_superuser = False
    user.role = Role.PARTICIPANT
    user.erased_at = timezone.now()
    user.last_login = None
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    RoleAssignment.objects.filter(user=user).delete()
    # The admin's history of the account: its name, and the role inlines it quotes ("alice moderator @ debate.3").
    history = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk))
    for entry in history.exclude(change_message="").only("change_message"):
        message = entry.change_message
        for name in {former["nickname"], former["username"], former["email"]} - {""}:
            message = replace_name(message, name, label)
        if message != entry.change_message:
            LogEntry.objects.filter(pk=entry.pk).update(change_message=message)
    history.update(object_repr=label)
    for step in features.erasure_steps():
        step(user=user, former=former)
    pk = user.pk
    effects.after_commit(f"rate-limit counters of erased user {pk}",
                         lambda: (ratelimit.forget(user), ratelimit.forget(f"user:{pk}")))
    return user
