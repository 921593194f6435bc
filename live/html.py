"""Small HTML pieces that every app's Python builders write (debates/comment_html.py, meetings/renderers.py,
live/messaging/renderers.py, live/notifications/renderers.py, live/moderation/renderers.py): one way each. As the
template engine writes them: variables escaped, translated texts left to the builders."""

from __future__ import annotations

from django.utils.html import escape


def csrf_input(token) -> str:
    """What `{% csrf_token %}` writes: nothing without a token or with a push's "NOTPROVIDED" (htmx sends the token
    as a header), else the hidden field. `token` may be the page context's lazy token."""
    if not token or token == "NOTPROVIDED":
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(token)}">'


def oob(flag) -> str:
    """The attribute of a fragment swapped out of band, with its leading space; nothing when `flag` is false."""
    return ' hx-swap-oob="true"' if flag else ""
