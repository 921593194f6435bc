from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


class BlockedUserMiddleware:
    """A blocked account's next request ends its session and lands on the sign-in page with the reason."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_blocked:
            logout(request)
            messages.error(request, _("Your account has been blocked by moderation."))
            return redirect(f"{reverse('accounts:login')}?blocked=1")
        return self.get_response(request)
