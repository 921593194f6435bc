import json
import os
import time

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.decorators import protected_resource
from oauth2_provider.views import AuthorizationView, TokenView
from oauthlib.oauth2 import Server

SLOW_SECONDS = 3
TRICKLE_BYTES = 50  # 10 s


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
    if request.path.startswith("/trickle/"):
        return StreamingHttpResponse(_trickle(), content_type="application/json")
    if request.path.startswith("/redirect/"):
        response = HttpResponseRedirect("/elsewhere/oauth/token")
        response.status_code = 307  # the POST, with the code and the client secret, is sent again there
        return response
    return TokenView.as_view()(request)


def _trickle():
    for _ in range(TRICKLE_BYTES):
        yield b" "
        time.sleep(0.2)


ELSEWHERE = []


@csrf_exempt
def elsewhere(request):
    """Where "/redirect" sends the token request: it says whether it ever got one (and its secret)."""
    if request.method == "POST":
        ELSEWHERE.append(request.POST.get("client_secret", "?"))
        return TokenView.as_view()(request)
    return JsonResponse({"requests": len(ELSEWHERE)})


@protected_resource(scopes=["public"])
def me(request):
    """Decidim::Doorkeeper::CredentialsController#me."""
    if request.path.startswith("/badme/"):
        return JsonResponse(["not", "a", "profile"], safe=False)
    if request.path.startswith("/hugeme/"):
        return JsonResponse({"id": 1, "email": "x@example.org", "name": "x" * 2_000_000, "nickname": "x"})
    user = request.resource_owner
    images = json.loads(os.environ.get("FAKE_DECIDIM_IMAGES", "{}"))
    return JsonResponse({"id": user.pk, "email": user.email, "name": user.first_name, "nickname": user.username,
                         "image": images.get(user.username)})
