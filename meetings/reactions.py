"""Reactions, coalesced per meeting (meetings/frames.py): 300 phones tapping twice a second make at most one screen
frame per MEETINGS_REACTION_FRAME_MS (250 ms: 4 frames a second), whatever the number of taps.

A tap adds one to the meeting's pending counts ("<agenda item>:<kind>" -> n); the frame adds them to the database
(ReactionCount rows: counts, never a row per tap) and appends one `reactions.changed` event carrying the frame's
counts per kind (services.add_reactions).
"""

from __future__ import annotations

from django.conf import settings

from meetings.frames import Frames


def _write(meeting_pk: int, counts: dict[str, int]) -> None:
    from meetings import services

    parsed = {}
    for field, n in counts.items():
        item, _sep, kind = field.partition(":")
        parsed[(int(item) or None, kind)] = parsed.get((int(item) or None, kind), 0) + n
    services.add_reactions(meeting_pk, parsed)


FRAMES = Frames("reactions", interval_ms=lambda: settings.MEETINGS_REACTION_FRAME_MS, write=_write)


def tap(meeting_pk: int, item_pk: int | None, kind: str) -> None:
    FRAMES.add(meeting_pk, f"{item_pk or 0}:{kind}")


def flush(meeting_pk: int) -> dict[str, int]:
    """One frame now: the pending counts go to the database and the screen. Returns what it wrote."""
    return FRAMES.flush(meeting_pk)
