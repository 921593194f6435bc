from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_messages_count(context) -> int:
    """Total unread private messages of the signed-in user (the header badge on every page)."""
    from live.messaging.services import unread_count

    user = context.get("user")
    return unread_count(user) if getattr(user, "is_authenticated", False) else 0


# The fragments a page shares with the pushes, built by live/messaging/renderers.py from the context's values (the
# same names the partials read): one way to write each, whoever shows it.

@register.simple_tag(takes_context=True)
def message_item(context) -> str:
    from live.messaging.renderers import message_html

    return mark_safe(message_html(context["message"], oob=context.get("oob")))


@register.simple_tag(takes_context=True)
def day_separator(context) -> str:
    from live.messaging.renderers import day_html

    return mark_safe(day_html(context["day_id"], context["day_label"]))


@register.simple_tag(takes_context=True)
def seen_line(context) -> str:
    from live.messaging.renderers import seen_html

    return mark_safe(seen_html(context.get("seen_count"), context.get("seen_names") or "", oob=context.get("oob")))


@register.simple_tag(takes_context=True)
def unread_badge(context) -> str:
    from live.messaging.renderers import badge_html

    unread = context.get("unread_messages")
    if unread is None:
        unread = unread_messages_count(context)
    return mark_safe(badge_html(unread, oob=context.get("oob")))


@register.simple_tag(takes_context=True)
def inbox_row(context) -> str:
    from live.messaging.renderers import inbox_row_html

    return mark_safe(inbox_row_html(context["row"]))
