"""The HTTP admission limit: at most N requests run at once; the rest wait their turn, none is refused."""

import asyncio

from live.admission import AdmissionLimit


async def test_at_most_limit_requests_run_at_once_and_all_complete():
    running, peak, done = 0, 0, []
    release = asyncio.Event()

    async def app(scope, receive, send):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        done.append(scope["n"])

    limited = AdmissionLimit(app, limit=2)
    tasks = [asyncio.create_task(limited({"type": "http", "n": n}, None, None)) for n in range(5)]
    await asyncio.sleep(0.01)
    assert running == 2  # three wait in the loop, no thread started for them
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert peak == 2 and sorted(done) == [0, 1, 2, 3, 4]
