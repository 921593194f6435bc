"""Messages in the moderation registry. Staff never browse conversations: a message reaches moderation only when a
participant reports it, and the report carries the message (its excerpt), not a link into the conversation."""

from live.messaging import services
from live.messaging.models import Message
from live.moderation import registry
from live.text import plain_text


def can_report(message, user) -> bool:
    """Only a current participant may report, not their own message, and only a message they can see (a system
    line is no one's words; a message of someone they blocked is hidden from them)."""
    if not getattr(user, "is_authenticated", False) or message.author_id == user.pk:
        return False
    if message.kind != Message.Kind.MESSAGE:
        return False
    if not message.conversation.participants.filter(user=user, left_at__isnull=True,
                                                    visible_from_id__lt=message.pk).exists():
        return False
    return services.visible_messages(user, message.conversation).filter(pk=message.pk).exists()


def _hide_all_by(user, *, actor, reason):
    """Hide every visible message of `user` (blocked); the messages it hid, for moderation's records."""
    visible = list(Message.objects.filter(author=user, kind=Message.Kind.MESSAGE, hidden_at__isnull=True)
                   .values_list("pk", flat=True))
    services.hide_all_by(user, actor=actor, reason=reason)
    return list(Message.objects.filter(pk__in=visible, hidden_at__isnull=False))


registry.register(registry.Moderatable(
    kind="message",
    model=Message,
    hide=lambda obj, *, actor, reason: services.hide_message(message=obj, actor=actor, reason=reason),
    unhide=lambda obj, *, actor: services.unhide_message(message=obj, actor=actor),
    is_hidden=lambda obj: obj.hidden_at is not None,
    space=lambda obj: f"conversation.{obj.conversation_id}",
    author=lambda obj: obj.author,
    excerpt=lambda obj: plain_text(obj.body, limit=200),
    # No link into the conversation: moderators are not participants (the page would be a 404 for them).
    url=lambda obj: "",
    can_report=can_report,
    hide_all_by=_hide_all_by,
    report_only=True,
))
