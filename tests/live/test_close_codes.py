"""The close-code table (live/close_codes.py) is the one the docs and the page's script follow."""

import json
import re
from pathlib import Path

from live.close_codes import RETRY, Close

ROOT = Path(__file__).resolve().parents[2]
CODES = {name: value for name, value in vars(Close).items() if name.isupper()}


def test_every_code_is_one_daphne_can_send():
    assert all(value == 1000 or 3000 <= value <= 4999 for value in CODES.values())
    assert len(set(CODES.values())) == len(CODES)


def test_docs_list_every_code_with_its_name():
    docs = (ROOT / "docs/realtime.md").read_text()
    for name, value in CODES.items():
        assert re.search(rf"^\| {value} \| `{name}` \|", docs, re.M), f"{value} {name} missing from docs/realtime.md"


def test_the_page_retries_exactly_the_retryable_codes_the_same_way():
    script = (ROOT / "static/live/live.js").read_text()
    table = re.search(r"var RETRY = (\{[^}]*\});", script).group(1)
    retry = json.loads(re.sub(r"(\d+):", r'"\1":', table))
    assert {int(code): how for code, how in retry.items()} == {int(code): how for code, how in RETRY.items()}
