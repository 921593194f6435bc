"""Moderation streams: `moderation.global` (global moderators and administrators) and `moderation.<space>` (e.g.
`moderation.debate.42`, the moderators of that space through a scoped role). Each carries `case.updated`
(renderers.py); every case is told on `moderation.global` too, so a global moderator follows that one only.
Each carries `moderators.changed` too, a control appended when someone who could follow it loses the right
(live.accounts.services: roles_changed, a block or deactivation through end_sessions, erase_account): the sockets
re-check in the stream's own order, before anything written on it after the revocation.
"""

from django.core.exceptions import PermissionDenied

from live import streams
from live.moderation import rules


def authorize(viewer, rest: str) -> str:
    user = viewer.user
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    # What `followable` lists, asked for one stream.
    if not (rules.is_global_moderator(user) if rest == "global" else rest in rules.moderated_spaces(user)):
        raise PermissionDenied
    return audience(user.pk)


def followable(user) -> frozenset[str]:
    """The moderation streams `user` may follow now: a finite set, so that those a revocation takes away can each
    be told (`no_longer_followable`)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    keys = {f"moderation.{space}" for space in rules.moderated_spaces(user)}
    if rules.is_global_moderator(user):
        keys.add("moderation.global")
    return frozenset(keys)


def opened_by_roles(user) -> frozenset[str]:
    """The moderation streams the roles of `user` open, whatever the account's state: what a block, a
    deactivation or an erasure takes away (after which `followable` is empty)."""
    from live.accounts.models import Role, RoleAssignment

    keys = {f"moderation.{space}" for space in RoleAssignment.objects.filter(user=user, role=Role.MODERATOR)
            .values_list("space", flat=True)}
    if user.is_superuser or user.role in (Role.MODERATOR, Role.ADMINISTRATOR):
        keys.add("moderation.global")
    return frozenset(keys)


def no_longer_followable(before: frozenset[str], user) -> list[str]:
    """Of the streams `user` could follow `before` a change, those they may not follow any more."""
    return sorted(before - followable(user))


def audience(user_pk) -> str:
    """One audience per moderator: the pushes of a case about their own content leave its row out of their queue
    (renderers.py), the others share one rendering."""
    return f"m{user_pk}"


streams.register_stream("moderation", authorize=authorize)
