"""A throwaway database for the in-process dev helpers (render_cost, erase_cost)."""

import os
from contextlib import contextmanager


@contextmanager
def database(suffix: str):
    """Set Django up on a database of its own, `test_<name>_<suffix>` (not the test suite's `test_<name>`, which a
    test run may be using meanwhile), rate limits off; drop it afterwards."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "live.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.RATE_LIMITS_ENABLED = False
    default = settings.DATABASES["default"]
    default.setdefault("TEST", {})["NAME"] = f"test_{default['NAME']}_{suffix}"
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield settings
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)
