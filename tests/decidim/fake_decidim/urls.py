from django.contrib.auth import views as auth_views
from django.urls import path

from tests.decidim.fake_decidim import views

urlpatterns = [path("users/sign_in", auth_views.LoginView.as_view(), name="login")]
# "/": a well-behaved Decidim; "/garbage": its token endpoint answers an HTML page; "/slow": its token endpoint
# answers after SLOW_SECONDS (the client's timeout is shorter); "/badme": /oauth/me answers nonsense.
for prefix in ("", "garbage/", "slow/", "badme/"):
    urlpatterns += [
        path(f"{prefix}oauth/authorize", views.Authorize.as_view()),
        path(f"{prefix}oauth/token", views.token),
        path(f"{prefix}oauth/me", views.me),
    ]
