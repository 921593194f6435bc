"""What can be moderated: each app registers its content types here once (in `<app>/moderation.py`, imported from
its AppConfig.ready()), and the moderation queue, reports, auto-hide and blocking work on all of them through this
one mechanism.

    moderation.register(Moderatable(
        kind="comment", model=Comment,
        hide=lambda obj, *, actor, reason: services.hide_comment(comment=obj, actor=actor, reason=reason),
        unhide=lambda obj, *, actor: services.unhide_comment(comment=obj, actor=actor),
        is_hidden=lambda obj: obj.hidden_at is not None,
        space=lambda obj: f"debate.{obj.debate_id}",     # who may moderate it: global moderators + this space's
        author=lambda obj: obj.author,                    # may return None (anonymous meeting contribution)
        excerpt=lambda obj: obj.body_text[:200],          # plain text for the queue
        url=lambda obj: obj.get_absolute_url(),
        can_report=lambda obj, user: True,               # e.g. only participants of a conversation
        hide_all_by=lambda user, *, actor, reason: [...], # optional: hide everything a blocked user wrote,
                                                          # returning what it hid
        report_only=False,                                # True: moderated only once reported (private messages)
    ))

`hide`/`unhide` are the app's own services: they write, append their stream event, and so make the content vanish
from every open page at once. They must not check the moderator's permission twice: the moderation services
(`live.moderation.services.hide/unhide/...`) do, and log the action. `actor` is None when the hide is automatic
(the distinct-reporter threshold was reached). A moderator button on your own page should post to
`moderation:act` (fields kind, id, action=hide|unhide|dismiss, reason, next) rather than call your service directly,
so the action is checked, logged and shown to the author.

Spaces (a debate, a meeting) register the controls a moderator may use on the whole space:

    moderation.register_space(ModeratedSpace(
        prefix="debate", model=Debate,                    # "debate.42" -> Debate.objects.get(pk=42)
        title=lambda debate: debate.title,
        url=lambda debate: debate.get_absolute_url(),
        lock=lambda debate, *, actor, locked, reason: services.lock_comments(debate=debate, actor=actor,
                                                                             locked=locked),
        is_locked=lambda debate: debate.comments_locked,
        slow_mode=lambda debate, *, actor, seconds, reason: services.set_slow_mode(debate=debate, actor=actor,
                                                                                   seconds=seconds),  # 0 = off
        slow_mode_seconds=lambda debate: debate.slow_mode_seconds,
    ))

Report forms: `{% include "moderation/report_form.html" with kind="comment" id=comment.pk %}` renders a small
form (a <details> disclosure) that POSTs to `moderation:report` with fields kind, id, reason, details; it works
without JavaScript and with htmx.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# The longest reason a moderation decision carries (a block's; a hide's or a lock's is at most 500): an app storing
# the reason it is given (`hide`, `lock`) keeps this much, so that the author reads what the log keeps.
REASON_MAX_LENGTH = 1000


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
    # hide_all_by(user, *, actor, reason) -> the objects it hid: hide everything a blocked user wrote (moderation
    # records a case for each, as for a moderator's hide).
    hide_all_by: Callable | None = None
    # False for things that cannot be hidden one by one (a user profile: warn or block instead); no auto-hide then.
    hideable: bool = True
    label: str = ""  # human name of the kind for the queue ("comment"); defaults to the model's verbose_name
    # True for private content (a message): staff see it only once a participant reported it, so moderators may
    # hide, unhide or dismiss it only then; an unreported item is answered as if it did not exist.
    report_only: bool = False

    def get_object(self, object_id):
        """The registered object, or raises model.DoesNotExist."""
        return self.model._default_manager.get(pk=object_id)

    def verbose_name(self) -> str:
        return str(self.label or self.model._meta.verbose_name)


@dataclass(frozen=True)
class ModeratedSpace:
    prefix: str
    model: type
    title: Callable = field(default=lambda obj: str(obj))
    url: Callable = field(default=lambda obj: obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else "")
    lock: Callable | None = None  # lock(obj, *, actor, locked: bool, reason: str)
    is_locked: Callable | None = None
    slow_mode: Callable | None = None  # slow_mode(obj, *, actor, seconds: int, reason: str); 0 turns it off
    slow_mode_seconds: Callable | None = None

    def get_object(self, rest: str):
        pk = int(rest)
        if not 0 < pk < 2**63:
            raise ValueError(rest)
        return self.model._default_manager.get(pk=pk)


_registry: dict[str, Moderatable] = {}
_spaces: dict[str, ModeratedSpace] = {}


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


def unregister(kind: str) -> None:
    """Tests only: drop a registration made for one test."""
    _registry.pop(kind, None)


def register_space(space: ModeratedSpace) -> ModeratedSpace:
    _spaces[space.prefix] = space
    return space


def get_space(key: str) -> tuple[ModeratedSpace, object] | None:
    """(registration, object) for a space key like "debate.42"; None when unknown or gone."""
    prefix, _sep, rest = (key or "").partition(".")
    space = _spaces.get(prefix)
    if space is None or not rest:
        return None
    try:
        return space, space.get_object(rest)
    except (space.model.DoesNotExist, ValueError):
        return None


def unregister_space(prefix: str) -> None:
    _spaces.pop(prefix, None)
