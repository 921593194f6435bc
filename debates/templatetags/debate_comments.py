from django import template

from debates import fragments, permissions

register = template.Library()


@register.simple_tag(takes_context=True)
def prepare_comments(context, *groups) -> str:
    """`{% prepare_comments roots %}` before rendering a list of threads: their cached HTML in one read
    (debates/fragments.py); comment.html uses it when present."""
    fragments.prepare(context, [root for group in groups if group for root in group])
    return ""


@register.filter
def debate_refusal(debate) -> str | None:
    """`{{ debate|debate_refusal }}`: why nobody may comment now (debates.permissions), or None."""
    return permissions.debate_refusal(debate)
