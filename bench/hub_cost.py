"""What the receiving side costs per event, in process: `python -m bench.hub_cost` (needs REDIS_URL).

- the hub's receive: CPU per message through channels-redis' `receive`, through `live.layers.receive_many` one at a
  time (a hub that keeps up) and taking what waits (a hub behind: `BEHIND` forced either way);
- the hub's dispatch and fan-out: CPU per event to `--sockets` live sockets (the fakes of
  tests/live/test_hub_batching.py: everything but the socket's own send system call).

docs/performance.md, "The hub's receive: what made S2's stalls (#17)".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from unittest import mock


async def receive_cost(rounds: int, n: int = 90) -> None:
    from django.conf import settings

    from live import layers
    from tests.live.test_hub_batching import event

    config = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    config.update(prefix="hubcost")
    layer = layers.RedisChannelLayer(**config)
    channel = await layer.new_channel(prefix="hub")
    await layer.group_add("live.debate.9", channel)
    msg = event(1)
    try:
        for way in ("receive", "receive_many, one at a time", "receive_many, what waits") * 2:
            spent = 0.0
            for _ in range(rounds):
                for _ in range(n):  # n under the layer's capacity (100): none dropped
                    await layer.group_send("live.debate.9", msg)
                behind = 3600 if "one at a time" in way else -1
                with mock.patch.object(layers, "BEHIND", behind):
                    started, got = time.process_time(), 0
                    while got < n:
                        if way == "receive":
                            await layer.receive(channel)
                            got += 1
                        else:
                            got += len(await layer.receive_many(channel, 64))
                    spent += time.process_time() - started
            print(f"{way:30s} {spent / n / rounds * 1e6:7.1f} us of CPU per message")
    finally:
        await layer.flush()


async def dispatch_cost(events: int, sockets: int) -> None:
    from tests.live.test_hub_batching import Socket, event, hub_with

    hub = hub_with(*[Socket(0) for _ in range(sockets)], last=0)
    msgs = [event(seq) for seq in range(1, events + 1)]
    for msg in msgs:
        msg["only"] = ["public:fr"]
    started = time.process_time()
    for msg in msgs:
        await hub.handle_batch([msg])
    spent = time.process_time() - started
    print(f"hub dispatch and fan-out: {spent / events * 1e6:.1f} us of CPU per event to {sockets} sockets "
          f"({spent / events / sockets * 1e6:.2f} per socket)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--sockets", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "live.settings")
    import django

    django.setup()
    asyncio.run(receive_cost(args.rounds))
    for _ in range(2):
        asyncio.run(dispatch_cost(args.events, args.sockets))


if __name__ == "__main__":
    main()
