"""Django's ASGI handler, with a sync view's whole middleware chain run in one thread hop.

Django's ASGI handler runs its middleware chain in async mode. With our middleware (sync, like most of Django's
own), a request to a sync view went loop -> thread (the outer sync middleware) -> loop (`async_to_sync`, to reach
the async-capable ones) -> thread again (the view, `sync_to_async`) and back twice: each hop is a thread wake-up,
a context copy and a turn of the event loop that every socket shares (py-spy on S3: a quarter of the server in
thread hand-offs, docs/performance.md). This handler keeps a second chain loaded in sync mode, as under WSGI, and
runs it for a sync view in one `sync_to_async` (thread-sensitive: the request's own thread, as before). Async views
(`/healthz`, `/readyz`: they must answer while the thread pool is busy) keep Django's async chain. The response,
its middleware and its errors are Django's own either way.

`LIVE_INTERNALS_OFF=one_hop` turns it off (live/internals.py checks that Django's handler still calls
`run_get_response`).
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse
from django.urls import Resolver404, get_resolver

from live import internals


class OneHopASGIHandler(ASGIHandler):
    def __init__(self):
        super().__init__()
        self._sync = base.BaseHandler()
        self._sync.load_middleware(is_async=False)

    async def run_get_response(self, request):
        if not internals.usable("one_hop") or not self._sync_view(request):
            return await super().run_get_response(request)
        response = await sync_to_async(self._sync.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size  # as Django's run_get_response: the server chunks
        return response

    @staticmethod
    def _sync_view(request) -> bool:
        """Whether the path leads to a sync view (or to no view: the 404 page is rendered in sync)."""
        try:
            match = get_resolver().resolve(request.path_info)
        except Resolver404:
            return True
        return not iscoroutinefunction(match.func)
