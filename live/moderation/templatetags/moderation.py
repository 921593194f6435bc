"""The report form, built by live/moderation/renderers.py (a meeting contribution's push carries it too): one way
to write it, whoever shows it."""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def report_form(context) -> str:
    """`{% include "moderation/report_form.html" with kind=... id=... %}` calls this: the page's CSRF token and
    path (`next`) when it has a request."""
    from live.moderation.renderers import report_form_html

    request = context.get("request")
    return mark_safe(report_form_html(context.get("kind", ""), context.get("id", ""), csrf_token=context.get("csrf_token"),
                                      next_path=request.get_full_path() if request else None))
