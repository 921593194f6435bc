import functools

from live import streams


def read_when_shown(read):
    """A context value read only if a template shows it, once: templates call a callable they resolve. A fragment
    answered to htmx (a vote's buttons, a contribution form) shows no header, and used to pay for its queries."""
    return functools.cache(read)


def live(request):
    """The header's personal stream cursor (notifications badge) and unread count, on every page that shows the
    header (base.html reads the cursor before the count, and before the page's content)."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {}
    from live.notifications.services import unread_count

    return {
        "user_cursor": read_when_shown(lambda: streams.cursor(user.stream_key)),
        "unread_notifications": read_when_shown(lambda: unread_count(user)),
    }
