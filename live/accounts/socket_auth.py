"""Who a WebSocket belongs to: channels' AuthMiddleware, without its cost where it buys nothing.

channels resolves `scope["user"]` in the one thread that thread-sensitive calls share, for every socket: a socket
without a session cookie waits its turn there only to be told it is anonymous, and a reconnect storm of signed-in
sockets loads their sessions and users one after the other (bench S7). Here:

- no session key (no cookie, or one that is not a well-formed key): AnonymousUser, decided without a thread hop,
  exactly what channels' `get_user` answers for an empty session;
- a session key: channels' own `get_user` (session lookup, backend check, session-hash verification, flushing a
  session whose hash no longer matches), run in the thread pool, so that a storm's lookups overlap.
"""

from __future__ import annotations

from channels.auth import AuthMiddleware, get_user
from channels.db import database_sync_to_async
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth.models import AnonymousUser

_get_user = database_sync_to_async(get_user.func, thread_sensitive=False)


class SocketAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope):
        session = scope["session"]
        if session.session_key is None:
            scope["user"]._wrapped = AnonymousUser()
            return
        scope["user"]._wrapped = await _get_user(scope)


def SocketAuthMiddlewareStack(inner):
    """`channels.auth.AuthMiddlewareStack` with SocketAuthMiddleware."""
    return CookieMiddleware(SessionMiddleware(SocketAuthMiddleware(inner)))
