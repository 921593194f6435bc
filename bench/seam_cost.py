"""What every socket write pays at the seam, one piece at a time, in CPU of this process (warm, in a loop):

    DATABASE_URL=postgres://... REDIS_URL=redis://... python -m bench.seam_cost [--n 500]

- `session_check`: live.accounts.selectors.still_signed_in, the check before each socket write (one statement);
- `variants_wanted`: live.variants.wanted, what a publish asks before rendering (what was read lately), and
  `variants_read`: the same asking Redis (HGETALL), as each publish did before READ_SECONDS;
- `pool_hop`: live.consumers.in_pool on a function that does nothing: the hop from the event loop to a pool
  thread and back (context copy, the database connections' clean-up on both sides);
- `write_hop`: live.consumers.in_write_pool on a function that takes a database connection, as every socket write
  does: the hop, the connection out of the pool (psycopg_pool's check) and back;
- `rate_limit`: live.ratelimit.enforce, the check every write makes (one Redis script call, limits raised so that
  nothing is refused).

bench/write_cost.py measures whole writes; this tells how much of one each piece is. CPU moves with other load on
the machine: compare before/after one right after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.write_cost import configure_environment


def per_call_ms(fn, n: int) -> float:
    fn()
    started = time.process_time()
    for _ in range(n):
        fn()
    return round((time.process_time() - started) / n * 1000, 4)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=500)
    args = p.parse_args(argv)
    configure_environment()
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.db import connection, connections
    from django.test import Client

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore

    database = settings.DATABASES["default"]
    database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_seam_cost"
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from live import ratelimit, variants
        from live.accounts import selectors
        from live.consumers import in_pool, in_write_pool
        from tests.helpers import make_user

        user = make_user("alice")
        client = Client()
        client.force_login(user)
        key = client.cookies[settings.SESSION_COOKIE_NAME].value
        signer = selectors.session_signer(SessionStore(key))
        assert selectors.still_signed_in(key, signer) == user
        rows = {"session_check": per_call_ms(lambda: selectors.still_signed_in(key, signer), args.n),
                "variants_wanted": per_call_ms(lambda: variants.wanted("debate.1"), args.n),
                "variants_read": per_call_ms(lambda: (variants.forget_local(), variants.wanted("debate.1")), args.n)}

        async def hops():
            nothing = in_pool(lambda: None)
            await nothing()
            started = time.process_time()
            for _ in range(args.n):
                await nothing()
            return round((time.process_time() - started) / args.n * 1000, 4)

        rows["pool_hop"] = asyncio.run(hops())

        async def write_hops():
            touch = in_write_pool(connection.ensure_connection)
            await touch()
            started = time.process_time()
            for _ in range(args.n):
                await touch()
            return round((time.process_time() - started) / args.n * 1000, 4)

        rows["write_hop"] = asyncio.run(write_hops())
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "vote": "1000000/60"}
        rows["rate_limit"] = per_call_ms(lambda: ratelimit.enforce("vote", user), args.n)
    finally:
        connections.close_all()
        if connection.settings_dict.get("OPTIONS", {}).get("pool"):
            connection.close_pool()
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        connection.creation.destroy_test_db(name, verbosity=0)
    import os

    print(f"load average {os.getloadavg()[0]:.2f}; CPU ms per call:")
    for what, ms in rows.items():
        print(f"{what:<16} {ms:>8}")


if __name__ == "__main__":
    main()
