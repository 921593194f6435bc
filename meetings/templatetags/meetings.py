"""The fragments a meeting's pages share with the pushes, built by meetings/renderers.py from the context's values
(the names the partials of meetings/parts.html read): one way to write each, whoever shows it."""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


def _next_path(context) -> str | None:
    request = context.get("request")
    return request.get_full_path() if request else None


@register.simple_tag(takes_context=True)
def contribution_item(context) -> str:
    from meetings.renderers import contribution_html

    return mark_safe(contribution_html(context["c"], context["meeting"], report_url=context.get("report_url"),
                                       csrf_token=context.get("csrf_token"), next_path=_next_path(context),
                                       oob=context.get("oob")))


@register.simple_tag(takes_context=True)
def screen_item(context) -> str:
    from meetings.renderers import screen_item_html

    return mark_safe(screen_item_html(context["c"]))


@register.simple_tag
def vote_count(count) -> str:
    """A contribution's "+3" read as what it counts ("Supported by 3 people"): the projector's pinned one."""
    from meetings.renderers import vote_count_html

    return mark_safe(vote_count_html(count, "screen-votes"))


@register.simple_tag(takes_context=True)
def console_item(context) -> str:
    from meetings.renderers import console_item_html

    return mark_safe(console_item_html(context["c"], context["meeting"], csrf_token=context.get("csrf_token")))
