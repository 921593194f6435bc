"""The personal stream `user.<id>`: only its owner follows it. It carries notifications and control events
(role changes re-check every subscription; blocking and logout close sockets: renderers.py)."""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied

from live import streams


def authorize(viewer, rest: str) -> str:
    user = viewer.user
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    if rest != str(user.pk):
        raise ObjectDoesNotExist  # someone else's stream: as if it did not exist
    return "self"


streams.register_stream("user", authorize=authorize)
