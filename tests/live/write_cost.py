"""What a write costs through its real view, for the tests that keep each write path within its budget (issue 17:
at most MAX_QUERIES SQL statements per comment, vote, contribution or approval, BEGIN and COMMIT included, with its
pushes rendered after commit for every variant some socket follows; docs/performance.md)."""

from __future__ import annotations

import contextlib

from live import streams, variants

MAX_QUERIES = 12


def follow(*pairs: tuple[str, str]) -> None:
    """Mark (stream, audience) as followed in both languages, as hubs do for their sockets: pushes render them."""
    variants.mark([(key, variants.variant(audience, lang)) for key, audience in pairs for lang in streams.languages()])


@contextlib.contextmanager
def pushes(monkeypatch):
    """{stream key: the variants rendered with some HTML} of what is handed to the channel layer in the block. In a
    transactional test, so that commits and their pushes happen as in production."""
    pushed: dict[str, set[str]] = {}
    real = streams.send_to_groups

    def spy(sends):
        for key, msg in sends:
            pushed.setdefault(key, set()).update(name for name, frame in msg.get("frames", {}).items()
                                                 if '"html"' in frame)
        real(sends)

    monkeypatch.setattr(streams, "send_to_groups", spy)
    yield pushed
    monkeypatch.setattr(streams, "send_to_groups", real)
