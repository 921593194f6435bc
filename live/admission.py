"""At most HTTP_MAX_CONCURRENCY HTTP requests run at once in a process; the others wait in the event loop.

Django runs each request's sync code in a thread of its own under ASGI, without a limit. Under a burst of
comment POSTs into one debate (bench S1 ramp, docs/performance.md) a hundred threads then share the GIL with the
event loop, and each holds the debate's row lock while it waits for its turn at the GIL: throughput collapsed from
~20k to ~6k deliveries/s instead of levelling off. Queueing the excess here, where waiting costs nothing, keeps
the process at its capacity. WebSockets are not affected.
"""

from __future__ import annotations

import asyncio

from django.conf import settings


class AdmissionLimit:
    def __init__(self, app, limit: int | None = None):
        self.app = app
        self.limit = limit or settings.HTTP_MAX_CONCURRENCY
        self._semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    async def __call__(self, scope, receive, send):
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            if len(self._semaphores) > 8:  # test suites create many loops; a server has one
                self._semaphores.clear()
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.limit)
        async with semaphore:
            return await self.app(scope, receive, send)
