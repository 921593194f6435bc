"""Who may moderate what: small predicates, re-read from the database on every action so that a role revoked a
second ago no longer acts (the request's user object may be older than the revocation)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from live.accounts.models import Role, RoleAssignment


def fresh(user):
    """The user as stored now (role, blocked state), or None for anonymous visitors and deleted accounts."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return get_user_model().objects.filter(pk=user.pk).first()


def is_global_moderator(user) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and user.has_role(Role.MODERATOR))


def moderated_spaces(user) -> list[str]:
    """The spaces a space moderator moderates ("debate.42", ...); empty for everyone else."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_blocked:
        return []
    return sorted(RoleAssignment.objects.filter(user=user, role=Role.MODERATOR).values_list("space", flat=True))


def is_moderator(user) -> bool:
    """A global moderator or the moderator of at least one space: sees the moderation queue."""
    return is_global_moderator(user) or bool(moderated_spaces(user))


def can_moderate(user, space: str | None) -> bool:
    """Global moderators everywhere; a space moderator in their space only."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.has_role(Role.MODERATOR, space=space or None)


def is_administrator(user) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and user.has_role(Role.ADMINISTRATOR))


def stream_keys(user) -> list[str]:
    """The moderation streams a moderator's queue follows."""
    if is_global_moderator(user):
        return ["moderation.global"]
    return [f"moderation.{space}" for space in moderated_spaces(user)]
