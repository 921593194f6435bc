"""Accounts: sign-up, roles, session ends. Every change that live clients must notice goes through the stream."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from live import ratelimit, streams
from live.accounts.models import Role, RoleAssignment
from live.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_SIGNED_IN, session_hash

User = get_user_model()


@transaction.atomic
def sign_up(*, nickname: str, email: str, password: str, ip: str = "") -> User:
    ratelimit.enforce("signup", ip or "unknown")
    nickname = nickname.strip()
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(nickname__iexact=nickname).exists():
        raise ValidationError({"nickname": _("This nickname is already taken.")})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": _("An account already uses this email address.")})
    user = User(username=email, nickname=nickname, email=email)
    user.set_password(password)
    user.full_clean()
    user.save()
    from live.notifications.services import notify

    notify(user=user, kind="welcome", text=_("Welcome to Agora Live, %(name)s!") % {"name": nickname}, url="/")
    return user


@transaction.atomic
def set_role(*, actor, user, role: str, space: str = "") -> None:
    """Give `user` a global role (space="") or a role in one space. Their open sockets re-check at once."""
    if not actor.has_role(Role.ADMINISTRATOR):
        raise ValidationError(_("Only administrators can change roles."))
    if role not in Role.values:
        raise ValidationError(_("Unknown role."))
    if space:
        RoleAssignment.objects.get_or_create(user=user, role=role, space=space)
    else:
        user.role = role
        user.save(update_fields=["role"])
    streams.append(user.stream_key, "roles.changed", _control={"reauthorize": True})


@transaction.atomic
def revoke_role(*, actor, user, role: str, space: str = "") -> None:
    if not actor.has_role(Role.ADMINISTRATOR):
        raise ValidationError(_("Only administrators can change roles."))
    if space:
        RoleAssignment.objects.filter(user=user, role=role, space=space).delete()
    elif user.role == role:
        user.role = Role.PARTICIPANT
        user.save(update_fields=["role"])
    streams.append(user.stream_key, "roles.changed", _control={"reauthorize": True})


def end_session(*, user, session_key: str | None) -> None:
    """Close the sockets opened with this session (logout)."""
    with transaction.atomic():
        streams.append(user.stream_key, "session.ended",
                       _control={"close": CLOSE_NOT_SIGNED_IN, "session": session_hash(session_key),
                                 "reason": "signed_out", "detail": "You signed out."})


def close_all_sockets(*, user, reason: str = "blocked", detail: str = "") -> None:
    """Close every socket of `user` (blocking). Call inside the blocking transaction."""
    streams.append(user.stream_key, "account.blocked",
                   _control={"close": CLOSE_FORBIDDEN, "reason": reason, "detail": detail})
