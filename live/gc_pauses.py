"""Short garbage-collector pauses for a server process that holds thousands of long-lived sockets.

CPython's cyclic collector stops every thread, the event loop included, while it walks the objects of the
generations it collects. A socket server's heap is mostly long-lived (each open socket keeps a few hundred objects:
daphne's and autobahn's protocol, Twisted's transport, the consumer), and under reconnect churn the new sockets'
objects keep reaching the older generations, so their collections walk most of the heap: bench S2 (1000 sockets,
5% reconnecting each second) measured a middle-generation collection every ~40 s walking 250k objects, 250 ms of
CPU with the loop stopped (bench/trace_server.py), which alone put S2's p99 over 100 ms at any write rate.

The policy (`install`, from live/asgi.py; the freezing after each collection starts once daphne's reactor runs):
- at start-up, everything that exists (Django, the URL conf, templates: never garbage) is frozen out of
  collection (`gc.freeze`), and the youngest generation's threshold is raised (`GC_THRESHOLD`);
- after every collection, what survived it is frozen too: a collection walks only what was allocated since the
  previous one, never the sockets' long-lived objects again. A frozen object is still freed by reference counting
  when it is no longer used; only a *cycle* that becomes garbage after being frozen waits. The main source of
  such cycles, each closed connection's daphne objects, is broken when daphne reaps the connection
  (live/internals.py `free_closed_connections`);
- the youngest generation is also collected every second (YOUNG_SECONDS): the threshold counts allocations
  less deallocations, and under churn the closed sockets' objects freed by refcounting kept it low while the
  new ones piled up (13 s between collections, 47 ms each); a collection each second walks one second's
  survivors;
- so that the few other cycles cannot accumulate, a full collection (everything unfrozen, collected, frozen again)
  runs when the frozen objects have grown by a quarter since the last one, checked every CHECK_SECONDS (10
  minutes): what can wait is bounded (S2's churn left 284 such objects in 30 s), and the long pause comes at most
  once per check, only when the heap grew, never every few seconds of churn.

GC_THRESHOLD=0 keeps CPython's defaults (no freezing).
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time

logger = logging.getLogger(__name__)

CHECK_SECONDS = 600.0
YOUNG_SECONDS = 1.0


class Policy:
    def __init__(self, threshold: int, growth: float = 1.25):
        self.threshold, self.growth = threshold, growth
        self.baseline = 0  # frozen objects after the last full collection
        self.full_collections = 0
        self._in_full = False
        self._lock = threading.Lock()

    def install(self) -> None:
        """At start-up: what exists now frozen, the youngest generation's threshold raised."""
        gc.collect()
        gc.freeze()
        self.baseline = gc.get_freeze_count()
        gc.set_threshold(self.threshold, 20, 20)

    def serve(self, check_seconds: float | None = CHECK_SECONDS, young_seconds: float = YOUNG_SECONDS) -> None:
        """Once the server runs: each collection's survivors frozen, a young collection every `young_seconds`,
        the full collection when grown."""
        if self.after_collection not in gc.callbacks:
            gc.callbacks.append(self.after_collection)
        if check_seconds:
            threading.Thread(target=self._watch, args=(check_seconds, young_seconds), daemon=True,
                             name="live-gc").start()

    def uninstall(self) -> None:
        if self.after_collection in gc.callbacks:
            gc.callbacks.remove(self.after_collection)

    def after_collection(self, phase: str, info: dict) -> None:
        """gc callback: freeze the survivors of each automatic collection (not those of the full one that is
        being run, which freezes them itself)."""
        if phase == "stop" and not self._in_full:
            gc.freeze()

    def grown(self) -> bool:
        return gc.get_freeze_count() > self.baseline * self.growth

    def full_collection(self) -> int:
        """Everything collected once (a long pause: only as the heap grows, see the module docstring)."""
        with self._lock:
            self._in_full = True
            try:
                gc.unfreeze()
                found = gc.collect()
                gc.freeze()
            finally:
                self._in_full = False
            self.baseline = gc.get_freeze_count()
            self.full_collections += 1
        logger.info("full garbage collection: %d unreachable, %d objects frozen", found, self.baseline)
        return found

    def _watch(self, every: float, young: float) -> None:
        checked = time.monotonic()
        while True:
            time.sleep(young)
            try:
                gc.collect(0)
                if time.monotonic() - checked >= every:
                    checked = time.monotonic()
                    if self.grown():
                        self.full_collection()
            except Exception:  # noqa: BLE001 - never let the watcher die silently
                logger.exception("garbage collection check failed")


def install(threshold: int) -> Policy | None:
    """The start-up part now; the rest once daphne's reactor runs (not in a test or a shell that imports the
    application)."""
    if threshold <= 0:
        return None
    policy = Policy(threshold)
    policy.install()
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is not None:
        reactor.callWhenRunning(policy.serve)
    return policy
