from live import streams


def live(request):
    """The header's personal stream cursor (notifications badge) and unread count, on every page."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {}
    from live.notifications.services import unread_count

    return {
        "user_cursor": streams.cursor(user.stream_key),
        "unread_notifications": unread_count(user),
    }
