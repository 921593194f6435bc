from django import template

from debates import fragments, selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def prepare_comments(context, *groups) -> str:
    """`{% prepare_comments roots %}` before rendering a list of comments: their cached HTML in one read
    (debates/fragments.py); comment.html uses it when present."""
    fragments.prepare(context, [comment for group in groups if group for comment in selectors.flatten(group)])
    return ""
