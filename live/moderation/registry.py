"""What can be moderated: each app registers its content types here once (in `<app>/moderation.py`), and the
moderation queue, reports, auto-hide and blocking work on all of them through this one mechanism.

    moderation.register(Moderatable(
        kind="comment", model=Comment,
        hide=lambda obj, *, actor, reason: services.hide_comment(comment=obj, actor=actor, reason=reason),
        unhide=lambda obj, *, actor: services.unhide_comment(comment=obj, actor=actor),
        is_hidden=lambda obj: obj.hidden_at is not None,
        space=lambda obj: f"debate.{obj.debate_id}",     # who may moderate it: global moderators + this space's
        author=lambda obj: obj.author,
        excerpt=lambda obj: obj.body_text[:200],          # plain text for the queue
        url=lambda obj: obj.get_absolute_url(),
        can_report=lambda obj, user: True,               # e.g. only participants of a conversation
    ))

`hide`/`unhide` are the app's own services: they write, append their stream event, and so make the content vanish
from every open page at once. They must not check the moderator's permission twice: the moderation services do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Moderatable:
    kind: str
    model: type
    hide: Callable
    unhide: Callable
    is_hidden: Callable
    space: Callable
    author: Callable
    excerpt: Callable
    url: Callable
    can_report: Callable = field(default=lambda obj, user: True)
    hide_all_by: Callable | None = None  # hide_all_by(user, *, actor, reason): hide everything a blocked user wrote


_registry: dict[str, Moderatable] = {}


def register(entry: Moderatable) -> Moderatable:
    _registry[entry.kind] = entry
    return entry


def get(kind: str) -> Moderatable | None:
    return _registry.get(kind)


def for_model(model) -> Moderatable | None:
    for entry in _registry.values():
        if entry.model is model or isinstance(model, entry.model):
            return entry
    return None


def all_kinds() -> list[Moderatable]:
    return list(_registry.values())
