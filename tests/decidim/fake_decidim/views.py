import json
import os
import time

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.decorators import protected_resource
from oauth2_provider.views import AuthorizationView, TokenView
from oauthlib.oauth2 import Server

SLOW_SECONDS = 3


class DoorkeeperLikeServer(Server):
    """Decidim's Doorkeeper issues no refresh token."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.auth_grant.refresh_token = False


class Authorize(AuthorizationView):
    template_name = "oauth2_provider/authorize.html"


@csrf_exempt
def token(request):
    if request.path.startswith("/garbage/"):
        return HttpResponse("<html><body>Maintenance en cours</body></html>", content_type="text/html")
    if request.path.startswith("/slow/"):
        time.sleep(SLOW_SECONDS)
    return TokenView.as_view()(request)


@protected_resource(scopes=["public"])
def me(request):
    """Decidim::Doorkeeper::CredentialsController#me."""
    if request.path.startswith("/badme/"):
        return JsonResponse(["not", "a", "profile"], safe=False)
    user = request.resource_owner
    images = json.loads(os.environ.get("FAKE_DECIDIM_IMAGES", "{}"))
    return JsonResponse({"id": user.pk, "email": user.email, "name": user.first_name, "nickname": user.username,
                         "image": images.get(user.username)})
