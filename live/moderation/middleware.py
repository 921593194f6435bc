from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from live.moderation.services import BLOCKED_SESSION_FLAG


class BlockedSessionMiddleware:
    """Blocking empties the person's sessions and flags them (live.accounts.services.end_sessions): the next request from such a
    session lands on the sign-in page with the blocked message, once, if the account is still blocked then."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        flagged = session.get(BLOCKED_SESSION_FLAG) if session is not None else None
        if flagged is not None:
            # The flag names the blocked account: once unblocked, an old session is just signed out, not told off.
            still_blocked = type(flagged) is int and get_user_model().objects.filter(
                pk=flagged, blocked_at__isnull=False).exists()
            if not still_blocked:
                del session[BLOCKED_SESSION_FLAG]
                return self.get_response(request)
            session.flush()
            messages.error(request, _("Your account has been blocked by moderation."))
            return redirect(f"{reverse('accounts:login')}?blocked=1")
        return self.get_response(request)
