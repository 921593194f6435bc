"""allauth's hooks, pointed at our own flow: allauth does the OAuth exchange (state, PKCE, code, token, profile);
once it has a checked Decidim profile, or an error, our views take over (decidim/views.py). allauth's own account
and sign-up views are never used: live.accounts stays the one sign-in and sign-up of the site."""

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount import app_settings
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

from decidim.http import BoundedSession


class DecidimSocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin):
        from decidim import views

        raise ImmediateHttpResponse(views.signed_in_with_decidim(request, sociallogin))

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        from decidim import views

        raise ImmediateHttpResponse(views.sign_in_failed(request, provider, error=error, exception=exception,
                                                         extra_context=extra_context or {}))

    def is_open_for_signup(self, request, sociallogin):
        return True

    def can_authenticate_by_email(self, login, email):
        """Never, whatever the settings say: Decidim can let an account sign in before its address is confirmed
        (Decidim.unconfirmed_access_for), so the address it sends proves nothing. An account here with the same
        address is linked only with its password (decidim/views.py link)."""
        return False

    def get_requests_session(self):
        """The token and profile requests: bounded in all (decidim/http.py), never redirected elsewhere."""
        return BoundedSession(timeout=app_settings.REQUESTS_TIMEOUT)
