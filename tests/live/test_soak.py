"""RELIABILITY 28, short: bench/soak.py for 40 s with 150 sockets and 5% of them cut every second. Every socket's
log must equal the stream's events in PostgreSQL. `make soak` runs the long version (10 minutes, 300 sockets),
which also checks that the server's memory stays flat."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.fault, pytest.mark.needs_postgres, pytest.mark.needs_redis]


def test_every_socket_log_equals_the_database_after_random_disconnects(tmp_path):
    pytest.importorskip("picows", reason="the bench extras are not installed (pip install -e '.[bench]')")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    env["BENCH_RESULTS"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "bench.soak", "--seconds", "40", "--sockets", "150", "--churn",
                           "0.05", "--rss-growth-mb", "60"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert (tmp_path / "soak.json").exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((tmp_path / "soak.json").read_text())
    assert result["cuts"] > 100  # the churn happened
    assert result["accepted_events"] >= 150
    assert result["logs_equal_to_database"] == 150, result["logs_differing"]
    assert proc.returncode == 0, result["failures"]
