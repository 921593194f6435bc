"""The collector's pauses in a server process (live/gc_pauses.py) and closed connections freed without it
(live/internals.py free_closed_connections): what S2's p99 depended on (docs/performance.md)."""

import concurrent.futures
import gc
import time
import weakref

import pytest

from live import gc_pauses, internals


class Node:
    def __init__(self):
        self.other = None


def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a


@pytest.fixture
def policy():
    threshold = gc.get_threshold()
    policy = gc_pauses.Policy(threshold=50_000)
    policy.install()
    policy.serve(check_seconds=None)
    try:
        yield policy
    finally:
        policy.uninstall()
        gc.unfreeze()
        gc.set_threshold(*threshold)
        gc.collect()


def test_a_collection_never_walks_what_survived_the_previous_one(policy):
    kept = [Node() for _ in range(5000)]  # a socket's long-lived objects
    frozen = gc.get_freeze_count()
    gc.collect(0)
    assert gc.get_freeze_count() >= frozen + 5000
    assert not any(gc.is_tracked(o) and o in gc.get_objects(0) for o in kept[:10])
    del kept


def test_young_cycles_are_still_collected_and_frozen_ones_by_the_full_collection(policy):
    young = weakref.ref(cycle())
    gc.collect(0)
    assert young() is None  # garbage before the collection: collected as before

    held = cycle()
    old = weakref.ref(held)
    gc.collect(0)  # survives: frozen
    del held
    gc.collect(0)
    assert old() is not None  # a cycle that died frozen waits ...
    assert policy.full_collection() >= 2
    assert old() is None  # ... for the full collection, which runs when the frozen objects grew


def test_the_full_collection_runs_only_when_the_frozen_objects_grew(policy):
    assert not policy.grown()
    grown = [Node() for _ in range(int(policy.baseline * 0.3) + 1000)]
    gc.collect(0)
    assert policy.grown()
    policy.full_collection()
    assert not policy.grown()
    del grown


def test_a_reaped_websocket_connection_is_freed_by_reference_counting():
    """daphne's protocol keeps Deferreds whose result is the protocol, and the HTTP channel and request it was
    upgraded from name each other: without the fix, a closed connection waits for the cyclic collector."""
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet import defer

    assert internals.free_closed_connections()
    server = Server.__new__(Server)
    server.application_close_timeout = 10
    protocol = WebSocketProtocol.__new__(WebSocketProtocol)
    protocol.is_closed = defer.succeed(protocol)
    channel, request = Node(), Node()
    channel.requests, request.channel = [request], channel
    protocol._live_upgraded_from = (channel, request)
    done = concurrent.futures.Future()
    done.set_result(None)
    server.connections = {protocol: {"disconnected": time.time(), "application_instance": done}}
    refs = [weakref.ref(o) for o in (protocol, channel, request)]
    del protocol, channel, request, done
    gc.disable()
    try:
        server.application_checker()  # daphne reaps the closed connection
        assert server.connections == {}
        assert [r() for r in refs] == [None, None, None]
    finally:
        gc.enable()
        from twisted.internet import reactor

        for call in reactor.getDelayedCalls():  # daphne's checker schedules its next run
            if getattr(call.func, "__self__", None) is server:
                call.cancel()
