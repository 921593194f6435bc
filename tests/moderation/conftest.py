"""A test-only moderatable kind ("thing", stored as Notification rows: text = body, user = author) and a test-only
space ("room.<n>"), so the moderation services are tested on the registry alone, whatever the apps register."""

import pytest

from live.moderation import registry
from live.notifications.models import Notification

HIDDEN: dict[int, str] = {}  # thing pk -> reason
CALLS: list[tuple] = []
ROOMS: dict[str, dict] = {}


def _hide(obj, *, actor, reason):
    HIDDEN[obj.pk] = reason
    CALLS.append(("hide", obj.pk, getattr(actor, "nickname", None)))


def _unhide(obj, *, actor):
    HIDDEN.pop(obj.pk, None)
    CALLS.append(("unhide", obj.pk, getattr(actor, "nickname", None)))


def _hide_all_by(user, *, actor, reason):
    for thing in Notification.objects.filter(user=user, kind="thing"):
        HIDDEN[thing.pk] = reason
    CALLS.append(("hide_all_by", user.nickname, getattr(actor, "nickname", None)))


@pytest.fixture(autouse=True)
def thing_kind(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users
    HIDDEN.clear()
    CALLS.clear()
    ROOMS.clear()
    entry = registry.register(registry.Moderatable(
        kind="thing", model=Notification, label="thing",
        hide=_hide, unhide=_unhide, is_hidden=lambda obj: obj.pk in HIDDEN,
        space=lambda obj: obj.url or "",  # the "space" of a thing is stored in its url field
        author=lambda obj: obj.user,
        excerpt=lambda obj: obj.text, url=lambda obj: f"/things/{obj.pk}",
        can_report=lambda obj, user: "private" not in obj.kind,
        hide_all_by=_hide_all_by,
    ))
    from django.contrib.auth import get_user_model

    space = registry.register_space(registry.ModeratedSpace(
        prefix="room", model=get_user_model(),  # "room.<user pk>": any existing row will do
        title=lambda obj: f"Room {obj.pk}",
        url=lambda obj: "",
        lock=lambda obj, *, actor, locked, reason: ROOMS.setdefault(f"room.{obj.pk}", {}).update(locked=locked),
        is_locked=lambda obj: ROOMS.get(f"room.{obj.pk}", {}).get("locked", False),
        slow_mode=lambda obj, *, actor, seconds, reason: ROOMS.setdefault(f"room.{obj.pk}", {}).update(slow=seconds),
        slow_mode_seconds=lambda obj: ROOMS.get(f"room.{obj.pk}", {}).get("slow", 0),
    ))
    yield entry
    registry.unregister("thing")
    registry.unregister_space(space.prefix)


def make_thing(author, text="Un message", space="debate.7"):
    return Notification.objects.create(user=author, kind="thing", text=text, url=space)


@pytest.fixture
def dave(db):
    from tests import helpers

    return helpers.make_user("dave")


@pytest.fixture
def sam(db):
    """sam: moderator of debate.7 only."""
    from live.accounts.models import RoleAssignment
    from tests import helpers

    user = helpers.make_user("sam")
    RoleAssignment.objects.create(user=user, role="moderator", space="debate.7")
    return user
