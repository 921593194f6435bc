from django.conf import settings

DEFAULTS = {
    # Contributions are short: what fits on a phone screen and on the projector.
    "CONTRIBUTION_MAX_LENGTH": 280,
    # How many approved contributions the screen keeps (newest first; older ones fade, then leave the page).
    "SCREEN_ITEMS": 6,
    # The public base URL encoded in the QR code (e.g. "https://agora.example.org"); when empty, the host of the
    # last page a facilitator or the screen loaded is used.
    "PUBLIC_URL": "",
    "MAX_SLOW_MODE_SECONDS": 3600,
    "MAX_POLL_CHOICES": 10,
}


def get(name):
    return {**DEFAULTS, **getattr(settings, "MEETINGS", {})}[name]
