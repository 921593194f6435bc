"""A graceful stop on SIGTERM (a rolling restart: `systemctl restart agora@8001`, docs/deploy.md).

daphne's own SIGTERM stops the reactor at once: the requests in flight are cancelled and every socket drops (1006).
Here, instead, the process
1. stops accepting connections (its listening ports close: the load balancer's next try goes to another process)
   and /readyz answers 503;
2. closes its sockets with 4503 (`restarting`), spread over LIVE_DRAIN_SECONDS: each page comes back after its
   jittered backoff (0.5-1 s, static/live/live.js) on another process and resumes from its last seq, so nothing is
   lost or doubled, and the other processes are not hit by every page in the same instant;
3. waits for the HTTP requests in flight, at most LIVE_DRAIN_REQUESTS_SECONDS;
4. stops the reactor as daphne would (its shutdown gives the socket slots back, live/ratelimit.py).
Requests still running past the bound are cut: the process exits without waiting for their worker threads (the
interpreter would wait for them as long as they take: a request stuck on a lock kept a "stopped" process alive,
and its write committed after the stop). Their clients see the connection close; their database transactions
never commit (the connection closes with the process), so nothing is half-written and a retry is safe.
A second SIGTERM during the drain stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from django.conf import settings

from live import internals, metrics
from live.close_codes import Close

logger = logging.getLogger(__name__)

RESTARTING_DETAIL = "This server is restarting; reconnecting to another one."

CUT_GRACE_SECONDS = 0.5  # past the bound: the reactor's shutdown closes the connections meanwhile

_state = {"draining": False, "installed": False, "in_flight": 0}
_idle = asyncio.Event()


def draining() -> bool:
    return _state["draining"]


class Drained:
    """The ASGI wrapper that counts the HTTP requests in flight."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        _state["in_flight"] += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            _state["in_flight"] -= 1
            if not _state["in_flight"]:
                _idle.set()


def when_served() -> None:
    """Under daphne (its Twisted reactor is installed before the application is imported): once the reactor runs,
    replace its SIGTERM handler by the drain, and start the event-loop lag timer (live/metrics.py)."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None or _state["installed"]:
        return
    _state["installed"] = True
    # callLater: after the reactor's start-up, which installs its own signal handlers, inside the running loop.
    reactor.callWhenRunning(lambda: reactor.callLater(0, _install, reactor))


def _install(reactor) -> None:
    loop = asyncio.get_running_loop()
    metrics.ensure_loop_timer()

    def on_sigterm(signum, frame):
        if _state["draining"]:
            loop.call_soon_threadsafe(reactor.stop)
            return
        _state["draining"] = True
        loop.call_soon_threadsafe(lambda: loop.create_task(drain(reactor)))

    signal.signal(signal.SIGTERM, on_sigterm)


async def drain(reactor) -> None:
    from twisted.internet import tcp

    _state["draining"] = True
    try:
        for reader in reactor.getReaders():
            if isinstance(reader, tcp.Port):
                reader.stopListening()
        consumers = list(metrics.sockets)
        logger.warning("SIGTERM: closing %d sockets over %.1fs, %d requests in flight", len(consumers),
                       settings.LIVE_DRAIN_SECONDS, _state["in_flight"])
        await close_sockets(consumers, settings.LIVE_DRAIN_SECONDS)
        if _state["in_flight"]:
            _idle.clear()
            try:
                await asyncio.wait_for(_idle.wait(), timeout=settings.LIVE_DRAIN_REQUESTS_SECONDS)
            except TimeoutError:
                logger.warning("SIGTERM: %d requests still in flight after %.0fs; cutting them",
                               _state["in_flight"], settings.LIVE_DRAIN_REQUESTS_SECONDS)
                reactor.addSystemEventTrigger("after", "shutdown", exit_without_waiting)
                # daphne's shutdown waits for every application instance to end, and a sync view's (asgiref waits
                # for its thread) ends only with the request: past a short grace, the cut does not wait for it.
                asyncio.get_running_loop().call_later(CUT_GRACE_SECONDS, exit_without_waiting)
    except Exception:
        logger.exception("SIGTERM: the drain failed; stopping")
    reactor.stop()


def exit_without_waiting() -> None:
    """Once the reactor has shut down (its connections closed): the exit handlers, then the process ends without
    joining the worker threads still serving the requests that outlived the bound."""
    internals.run_exit_handlers()
    os._exit(0)


async def close_sockets(consumers: list, window: float) -> None:
    """Close each socket with 4503 (`restarting`), evenly over `window` seconds."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    step = window / len(consumers) if consumers else 0
    for i, consumer in enumerate(consumers):
        delay = started + i * step - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            await consumer.end(Close.UNAVAILABLE, "restarting", RESTARTING_DETAIL)
        except Exception:
            logger.debug("closing a socket for the restart failed", exc_info=True)
