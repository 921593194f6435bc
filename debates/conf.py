"""Debate settings, with defaults: override any key in settings.DEBATES."""

from django.conf import settings

DEFAULTS = {
    "COMMENT_MAX_LENGTH": 1000,       # characters of Markdown-lite source
    "PARTICIPANTS_CAN_CREATE": True,  # False: only facilitators and administrators open debates
    "PAGE_SIZE": 20,                  # root comments per page ("load more")
    "REPLIES_SHOWN": 3,               # replies shown under a comment before "show N more replies"
    "PRESENCE_TTL": 50,               # seconds a reader counts as present after their last heartbeat
    "COMMENT_CACHE_SECONDS": 3600,    # lifetime of a comment's cached HTML (debates/fragments.py); 0: no cache
}


def get(name):
    return {**DEFAULTS, **getattr(settings, "DEBATES", {})}[name]
