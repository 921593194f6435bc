from django.contrib.auth import views as auth_views
from django.urls import path

from tests.decidim.fake_decidim import views

urlpatterns = [path("users/sign_in", auth_views.LoginView.as_view(), name="login")]
# "/": a well-behaved Decidim; "/garbage": its token endpoint answers an HTML page; "/slow": its token endpoint
# answers after SLOW_SECONDS (the client's timeout is shorter); "/badme": /oauth/me answers nonsense; "/trickle": its
# token endpoint answers a byte at a time; "/redirect": it sends the token request on to another address; "/hugeme":
# /oauth/me answers megabytes.
for prefix in ("", "garbage/", "slow/", "badme/", "trickle/", "redirect/", "hugeme/"):
    urlpatterns += [
        path(f"{prefix}oauth/authorize", views.Authorize.as_view()),
        path(f"{prefix}oauth/token", views.token),
        path(f"{prefix}oauth/me", views.me),
    ]
urlpatterns += [path("elsewhere/oauth/token", views.elsewhere)]
