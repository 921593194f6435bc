from django import template
from django.utils.safestring import mark_safe

register = template.Library()


# The fragments a page shares with the pushes, built by live/notifications/renderers.py from the context's values
# (the same names the templates read): one way to write each, whoever shows it.

@register.simple_tag(takes_context=True)
def notification_item(context) -> str:
    from live.notifications.renderers import item_html

    return mark_safe(item_html(context["notification"], oob=context.get("oob"), csrf_token=context.get("csrf_token")))


@register.simple_tag(takes_context=True)
def notification_badge_count(context) -> str:
    from live.notifications.renderers import badge_count_html

    unread = context.get("unread_notifications")
    if callable(unread):  # live.context_processors: read only when shown
        unread = unread()
    return mark_safe(badge_count_html(unread, oob=context.get("oob")))
