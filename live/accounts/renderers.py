"""The control events of `user.<id>` (streams.py): handled by the sockets (live/consumers.py apply_control),
never shown."""

from live import streams


@streams.renderer("session.ended")
@streams.renderer("account.blocked")
@streams.renderer("roles.changed")
def render_control(event, r):
    return None
