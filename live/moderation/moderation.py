"""User profiles can be reported too. A profile is not hidden one by one: moderators warn or block the person."""

from django.contrib.auth import get_user_model

from live.moderation import registry


def _noop(obj, **kwargs):
    return None


registry.register(registry.Moderatable(
    kind="user",
    model=get_user_model(),
    hide=_noop,
    unhide=_noop,
    is_hidden=lambda user: user.is_blocked,
    space=lambda user: "",
    author=lambda user: user,
    excerpt=lambda user: f"{user.public_name} — {user.bio[:200]}" if user.bio else user.public_name,
    url=lambda user: user.get_absolute_url() if not user.is_blocked else "",
    can_report=lambda user, reporter: user.pk != reporter.pk and user.is_active,
    hideable=False,
    label="profile",
))
