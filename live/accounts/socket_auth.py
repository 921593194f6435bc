"""Who a WebSocket belongs to: channels' AuthMiddleware, without its cost where it buys nothing.

channels resolves `scope["user"]` in the one thread that thread-sensitive calls share, for every socket: a socket
without a session cookie waits its turn there only to be told it is anonymous, and a reconnect storm of signed-in
sockets loads their sessions and users one after the other (bench S7). Here:

- no session key (no cookie, or one that is not a well-formed key): AnonymousUser, decided without a thread hop,
  exactly what channels' `get_user` answers for an empty session;
- a session key: channels' own `get_user` (session lookup, backend check, session-hash verification, flushing a
  session whose hash no longer matches), run in the thread pool, so that a storm's lookups overlap.

While PostgreSQL is down or restarting, that lookup fails, or waits for the pool (up to its timeout, longer than
daphne's 5 s handshake timeout, which would drop the handshake): after LOOKUP_SECONDS, or at the error, the scope
is marked UNAVAILABLE and the consumer accepts, then closes with Close.UNAVAILABLE, so that the page's backoff
brings it back once the database is.
"""

from __future__ import annotations

import asyncio
import logging

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError

from live import internals

logger = logging.getLogger(__name__)

_lookup = []  # channels' get_user, run in the thread pool (live/internals.py), made on first use
LOOKUP_SECONDS = 3  # below daphne's handshake timeout (5 s)
UNAVAILABLE = "live.session_unavailable"  # the scope key


def _get_user(scope):
    if not _lookup:
        _lookup.append(database_sync_to_async(internals.session_user_lookup(), thread_sensitive=False))
    return _lookup[0](scope)


class SocketAuthMiddleware(AuthMiddleware):
    async def resolve_scope(self, scope):
        try:
            if not internals.usable("socket_auth"):
                await asyncio.wait_for(super().resolve_scope(scope), LOOKUP_SECONDS)  # channels' own
            elif scope["session"].session_key is None:
                internals.set_scope_user(scope, AnonymousUser())
            else:
                internals.set_scope_user(scope, await asyncio.wait_for(_get_user(scope), LOOKUP_SECONDS))
        except (TimeoutError, DatabaseError):
            logger.warning("session lookup failed or too slow; the socket is told to come back", exc_info=True)
            internals.set_scope_user(scope, AnonymousUser())
            scope[UNAVAILABLE] = True


def SocketAuthMiddlewareStack(inner):
    """`channels.auth.AuthMiddlewareStack` with SocketAuthMiddleware."""
    return CookieMiddleware(SessionMiddleware(SocketAuthMiddleware(inner)))
