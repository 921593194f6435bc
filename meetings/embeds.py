"""A meeting's livestream, embedded on its remote page: only from the hosts of MEETINGS_STREAM_HOSTS (the page's CSP
`frame-src` names them and nothing else), and, for those of MEETINGS_STREAM_COOKIE_HOSTS, only once the person
asks for it (nothing is loaded from them before).

What a facilitator pastes is the address they have: a YouTube watch or youtu.be link becomes YouTube's
privacy-enhanced player (www.youtube-nocookie.com/embed/<id>); a PeerTube watch link (/w/<id>, /videos/watch/<id>)
becomes its /videos/embed/<id>; anything else on an allowed host (a Jitsi room) is framed as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_YOUTUBE = {"www.youtube.com", "youtube.com", "m.youtube.com", "youtu.be", "www.youtube-nocookie.com"}
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


@dataclass(frozen=True)
class Embed:
    src: str
    host: str
    sets_cookies: bool

    @property
    def origin(self) -> str:
        return f"https://{self.host}"


def _youtube(parts) -> tuple[str, str] | None:
    if parts.hostname == "youtu.be":
        video = parts.path.strip("/")
    elif parts.path.startswith("/embed/") or parts.path.startswith("/live/"):
        video = parts.path.split("/")[2]
    else:
        video = (parse_qs(parts.query).get("v") or [""])[0]
    if not _VIDEO_ID.match(video or ""):
        return None
    return "www.youtube-nocookie.com", f"https://www.youtube-nocookie.com/embed/{video}"


def _peertube(parts) -> str | None:
    for prefix in ("/w/", "/videos/watch/", "/videos/embed/"):
        if parts.path.startswith(prefix):
            video = parts.path[len(prefix):].strip("/")
            if _VIDEO_ID.match(video):
                return f"https://{parts.hostname}/videos/embed/{video}"
    return None


def embed_for(url: str) -> Embed:
    """The embed of a livestream address, or ValidationError naming what is wrong."""
    parts = urlsplit((url or "").strip())
    allowed = {host.lower() for host in settings.MEETINGS_STREAM_HOSTS}
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError({"stream_url": _("The livestream address must start with https://.")})
    host = parts.hostname.lower()
    if host in _YOUTUBE:
        found = _youtube(parts)
        if found is None:
            raise ValidationError({"stream_url": _("This YouTube address names no video.")})
        host, src = found
    else:
        src = _peertube(parts) or parts.geturl()
    if host not in allowed:
        raise ValidationError({"stream_url": _("Livestreams can be embedded from %(hosts)s only.")
                               % {"hosts": ", ".join(sorted(allowed)) or "—"}})
    cookies = {h.lower() for h in settings.MEETINGS_STREAM_COOKIE_HOSTS}
    return Embed(src=src, host=host, sets_cookies=host in cookies)


def embed_or_none(url: str) -> Embed | None:
    """The embed of a stored address, None when there is none or the settings no longer allow its host."""
    if not url:
        return None
    try:
        return embed_for(url)
    except ValidationError:
        return None
