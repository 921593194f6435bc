"""Production settings refuse to start unsafe (RELIABILITY 29): system checks run in a fresh process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "agora.nanterre.example",
    "DATABASE_URL": "postgres://agora@127.0.0.1:5432/agora",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "PUBLIC_URL": "https://agora.nanterre.example",
}


def check(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {*GOOD, "DEBUG", "TEST_DATABASE_NAME"}}
    clean.update({k: v for k, v in {**GOOD, **env}.items() if v is not None})
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_it_passes_the_deploy_check_when_configured():
    result = check()
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("env, problem", [
    ({"SECRET_KEY": None}, "SECRET_KEY"),  # Django itself refuses an empty key before our check runs
    ({"REDIS_URL": None}, "live.E002"),
    ({"ALLOWED_HOSTS": "*"}, "live.E004"),
    ({"ALLOWED_HOSTS": None}, "live.E004"),
    ({"DATABASE_URL": None}, "live.E005"),
    ({"DEBUG": "true"}, "security.W018"),
    ({"PUBLIC_URL": None}, "live.E007"),  # e-mail links and QR codes would lead to localhost
    ({"HTTP_MAX_CONCURRENCY": "0"}, "live.E008"),  # every HTTP request would wait for ever
    ({"DECIDIM_EMBED_ORIGINS": "http://participez.nanterre.example"}, "live.E009"),  # framed over plain http
    ({"DECIDIM_PICTURE_ORIGINS": "http://cdn.nanterre.example"}, "live.E009"),
    ({"DECIDIM_URL": "http://decidim.nanterre.example", "DECIDIM_CLIENT_ID": "x", "DECIDIM_CLIENT_SECRET": "y"},
     "live.E009"),
    ({"DEBUG": "flase"}, "DEBUG='flase' is neither true"),  # a typo stops the start instead of meaning False
])
def test_it_refuses_unsafe_production_settings(env, problem):
    result = check(**env)
    assert result.returncode != 0
    assert problem in result.stderr + result.stdout


def test_the_in_memory_layer_is_refused_in_production():
    result = check(REDIS_URL=None)
    assert "live.E003" in result.stderr + result.stdout


def test_development_needs_no_environment_at_all():
    clean = {k: v for k, v in os.environ.items() if k not in {*GOOD, "DEBUG", "TEST_DATABASE_NAME"}}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
