"""Comments and debates exposed to live.moderation (queue, reports, auto-hide, blocking, space locks)."""

from debates import services
from debates.models import Comment, Debate
from live.moderation import registry


def _hide_all_by(user, *, actor, reason):
    """Hide every visible comment of `user` (blocked); the comments it hid, for moderation's records."""
    visible = list(Comment.objects.filter(author=user, hidden_at__isnull=True).values_list("pk", flat=True))
    services.hide_all_by(user, actor=actor, reason=reason)
    return list(Comment.objects.filter(pk__in=visible, hidden_at__isnull=False))


registry.register(registry.Moderatable(
    kind="comment", model=Comment, label="comment",
    hide=lambda obj, *, actor, reason: services.hide_comment(comment=obj, actor=actor, reason=reason),
    unhide=lambda obj, *, actor: services.unhide_comment(comment=obj, actor=actor),
    is_hidden=lambda obj: obj.hidden_at is not None,
    space=lambda obj: f"debate.{obj.debate_id}",
    author=lambda obj: obj.author,
    excerpt=lambda obj: obj.body_text[:200],
    url=lambda obj: obj.get_absolute_url(),
    can_report=lambda obj, user: obj.deleted_at is None and obj.author_id != getattr(user, "pk", None),
    hide_all_by=_hide_all_by,
))

if hasattr(registry, "register_space"):
    registry.register_space(registry.ModeratedSpace(
        prefix="debate", model=Debate,
        title=lambda debate: debate.title,
        url=lambda debate: debate.get_absolute_url(),
        lock=lambda debate, *, actor, locked, reason="": services.lock_comments(
            debate=debate, actor=actor, locked=locked, reason=reason),
        is_locked=lambda debate: debate.comments_locked,
        slow_mode=lambda debate, *, actor, seconds, reason="": services.set_slow_mode(
            debate=debate, actor=actor, seconds=seconds),
        slow_mode_seconds=lambda debate: debate.slow_mode_seconds,
    ))
