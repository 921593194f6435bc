from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from live.moderation.services import BLOCKED_SESSION_FLAG


class BlockedSessionMiddleware:
    """Blocking empties the person's sessions and flags them (live.accounts.services.end_sessions): the next request from such a
    session lands on the sign-in page with the blocked message, once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and session.get(BLOCKED_SESSION_FLAG):
            session.flush()
            messages.error(request, _("Your account has been blocked by moderation."))
            return redirect(f"{reverse('accounts:login')}?blocked=1")
        return self.get_response(request)
