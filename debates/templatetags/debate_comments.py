from django import template

from debates import fragments

register = template.Library()


@register.simple_tag(takes_context=True)
def prepare_comments(context, *groups) -> str:
    """`{% prepare_comments roots %}` before rendering a list of threads: their cached HTML in one read
    (debates/fragments.py); comment.html uses it when present."""
    fragments.prepare(context, [root for group in groups if group for root in group])
    return ""
