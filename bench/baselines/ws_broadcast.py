"""Baseline (a), the ceiling: a plain `websockets` broadcast server on uvloop.

Every socket on `/` listens; each text message received on `/publish` goes to all listeners with
`websockets.broadcast` (one encoded frame written to every socket, no per-socket coroutine).
Run: python -m bench.baselines.ws_broadcast PORT
"""

import asyncio
import sys

import uvloop
from websockets.asyncio.server import broadcast, serve

listeners = set()


async def handler(ws):
    if ws.request.path == "/publish":
        async for message in ws:
            broadcast(listeners, message)
        return
    listeners.add(ws)
    try:
        await ws.wait_closed()
    finally:
        listeners.discard(ws)


async def main(port: int):
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=2**20, ping_interval=None,
                     backlog=4096):
        await asyncio.Future()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
