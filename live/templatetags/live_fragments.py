"""Fragments every app's pages and pushes share, built in Python once (live/streams.py): one way to write each."""

from django import template
from django.utils.safestring import mark_safe

from live import streams

register = template.Library()


@register.simple_tag
def announcer(text) -> str:
    """`{% announcer text %}` (templates/live/announcer.html): the screen readers' polite announcement."""
    return mark_safe(streams.announcement(text))  # noqa: S308  (escaped by the builder)
