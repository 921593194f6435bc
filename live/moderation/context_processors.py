from live.context_processors import read_when_shown
from live.moderation import rules


def moderation(request):
    """`perms_moderation`: show the Moderation link in the header to global and space moderators only."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {"perms_moderation": False}
    return {"perms_moderation": read_when_shown(lambda: rules.is_moderator(user))}
