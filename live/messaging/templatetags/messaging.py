from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_messages_count(context) -> int:
    """Total unread private messages of the signed-in user (the header badge on every page)."""
    from live.messaging.services import unread_count

    user = context.get("user")
    return unread_count(user) if getattr(user, "is_authenticated", False) else 0
