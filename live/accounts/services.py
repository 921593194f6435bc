"""Accounts: sign-up, roles, session ends. Every change that live clients must notice goes through the stream."""

import logging

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from live import features, ratelimit, streams
from live.accounts.models import Role, RoleAssignment
from live.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_SIGNED_IN, session_hash

User = get_user_model()
logger = logging.getLogger(__name__)


@transaction.atomic
def sign_up(*, nickname: str, email: str, password: str, ip: str = "") -> User:
    """Create a participant account and welcome them (their first notification)."""
    ratelimit.enforce("signup", ip or "unknown")
    nickname = nickname.strip()
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(nickname__iexact=nickname).exists():
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

    notify(user=user, kind="welcome", text=_("Welcome to Agora Live, %(name)s!") % {"name": nickname}, url="/")
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
    """Change the public nickname and the "about me" text (already validated by ProfileForm)."""
    ratelimit.enforce("default", user)
    if User.objects.filter(nickname__iexact=nickname).exclude(pk=user.pk).exists():
        raise ValidationError({"nickname": _("This nickname is already taken.")})
    before = user.nickname, user.bio
    user.nickname, user.bio = nickname, bio
    try:
        user.full_clean(exclude=["username", "password"])
    except ValidationError:
        user.nickname, user.bio = before
        raise
    user.save(update_fields=["nickname", "bio"])
    return user


@transaction.atomic
def set_role(*, actor, user, role: str, space: str = "") -> None:
    """Give `user` a global role (space="") or a role in one space. Their open sockets re-check at once."""
    ensure_can_change_roles(actor)
    if role not in Role.values:
        raise ValidationError(_("Unknown role."))
    if space:
        RoleAssignment.objects.get_or_create(user=user, role=role, space=space)
    else:
        user.role = role
        # Administrators use the Django admin, which only lets staff in.
        user.is_staff = user.is_staff or role == Role.ADMINISTRATOR
        user.save(update_fields=["role", "is_staff"])
    roles_changed(user=user)


@transaction.atomic
def revoke_role(*, actor, user, role: str, space: str = "") -> None:
    """Take a role back; the sockets of `user` drop at once the streams it no longer allows."""
    ensure_can_change_roles(actor)
    if space:
        RoleAssignment.objects.filter(user=user, role=role, space=space).delete()
    elif user.role == role:
        user.role = Role.PARTICIPANT
        user.is_staff = user.is_staff and user.is_superuser
        user.save(update_fields=["role", "is_staff"])
    roles_changed(user=user)


def ensure_can_change_roles(actor) -> None:
    if not actor.has_role(Role.ADMINISTRATOR):
        raise PermissionDenied(_("Only administrators can change roles."))


def roles_changed(*, user) -> None:
    """Tell the sockets of `user` to re-check every stream they follow (also called by the admin)."""
    streams.append(user.stream_key, "roles.changed", _control={"reauthorize": True})


def end_session(*, user, session_key: str | None) -> None:
    """Close the sockets opened with this session (logout)."""
    with transaction.atomic():
        streams.append(user.stream_key, "session.ended",
                       _control={"close": CLOSE_NOT_SIGNED_IN, "session": session_hash(session_key),
                                 "reason": "signed_out", "detail": "You signed out."})


def end_all_sessions(*, user, reason: str = "password_changed", detail: str = "") -> None:
    """Close every socket of `user` as signed out (after a password reset: the old sessions are no longer valid)."""
    with transaction.atomic():
        streams.append(user.stream_key, "session.ended",
                       _control={"close": CLOSE_NOT_SIGNED_IN, "reason": reason,
                                 "detail": detail or "Your password was changed; sign in again."})


def close_all_sockets(*, user, reason: str = "blocked", detail: str = "") -> None:
    """Close every socket of `user` (blocking). Call inside the blocking transaction."""
    streams.append(user.stream_key, "account.blocked",
                   _control={"close": CLOSE_FORBIDDEN, "reason": reason, "detail": detail})
