"""Moderation streams: `moderation.global` (global moderators) and `moderation.<space>` (e.g.
`moderation.debate.42`, that space's moderators and global ones). Each carries `case.updated` (renderers.py).
"""

from django.core.exceptions import PermissionDenied

from live import streams
from live.moderation import rules


def authorize(viewer, rest: str) -> str:
    user = viewer.user
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    if rest == "global":
        if not rules.is_global_moderator(user):
            raise PermissionDenied
    elif not rules.can_moderate(user, rest):
        raise PermissionDenied
    return audience(user.pk)


def audience(user_pk) -> str:
    """One audience per moderator: the pushes of a case about their own content leave its row out of their queue
    (renderers.py), the others share one rendering."""
    return f"m{user_pk}"


streams.register_stream("moderation", authorize=authorize)
