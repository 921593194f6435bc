"""Redis scripts from the socket writes' threads, each on a connection of its own that the thread keeps.

A private message's write calls two Redis scripts from its worker thread: its rate limit (live/ratelimit.py) and its
streams' group members (live/layers.py `members_now`). Through redis-py's client, each call takes a connection from
the pool and puts it back (a lock, a `poll()` of the socket for stale data, the process id checked), goes through
its retry and its response callbacks: about 100-110 us of CPU a call on a 2-core VM, against 50 us for the same
command written and read on a redis-py connection directly (docs/performance.md, #17). The socket write pool's
threads (live/consumers.py `in_write_pool`) live as long as the process and run nothing else, so each keeps one
connection per Redis pool (`keep_connections`, the pool's initializer) and `run_script` sends on it. Any other
thread (a request's, which lives for one request) goes through the client as before: a connection kept there would
be a connection per request.

The connection is redis-py's own (`pool.make_connection()`: the pool's address, credentials, database, timeouts and
parser), so what reaches Redis is what the client sends: EVALSHA, and SCRIPT LOAD when Redis answers NOSCRIPT (a
restart, a SCRIPT FLUSH). A kept connection that fails (Redis restarted, the connection cut) is dropped and the
call is sent once more on a new one, as the client's retry would; any other failure (a timeout: Redis hung, and
waiting twice helps nobody) drops it and raises.
"""

from __future__ import annotations

import threading

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

_local = threading.local()


def keep_connections() -> None:
    """Make this thread keep its own Redis connections (a thread pool's initializer)."""
    _local.connections = {}


def kept() -> dict | None:
    """This thread's kept connections, by pool; None in a thread that keeps none."""
    return getattr(_local, "connections", None)


def run_script(script, keys: list, args: list, client):
    """`script(keys=keys, args=args, client=client)` (a redis-py `Script`), on this thread's own connection to the
    client's pool when it keeps them. Raises what the client raises."""
    connections = kept()
    if connections is None:
        return script(keys=keys, args=args, client=client)
    pool = client.connection_pool
    while True:
        connection = connections.get(pool)
        fresh = connection is None
        if fresh:
            connection = connections[pool] = pool.make_connection()
        try:
            return _evalsha(connection, script, keys, args)
        except RedisConnectionError:
            _drop(connections, pool, connection)
            if fresh:
                raise
            # The kept one was dead (Redis restarted, the connection cut): once more, on a new one.
        except BaseException:  # a timeout (Redis hung: no second wait), a script's error...
            _drop(connections, pool, connection)
            raise


def _evalsha(connection, script, keys: list, args: list):
    command = ("EVALSHA", script.sha, len(keys), *keys, *args)
    connection.send_command(*command)
    try:
        return connection.read_response()
    except NoScriptError:
        connection.send_command("SCRIPT", "LOAD", script.script)
        connection.read_response()
        connection.send_command(*command)
        return connection.read_response()


def _drop(connections: dict, pool, connection) -> None:
    if connections.get(pool) is connection:
        del connections[pool]
    connection.disconnect()
