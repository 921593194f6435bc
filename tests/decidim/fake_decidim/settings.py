"""A stand-in for a Decidim organization's OAuth 2 side, on django-oauth-toolkit, behaving as Decidim's Doorkeeper
does: /oauth/authorize, /oauth/token, /oauth/me with Decidim's JSON; a second sign-in skips the consent screen;
tokens last two hours and come without a refresh token. Started by tests/decidim/conftest.py on a spare port."""

import os

SECRET_KEY = "fake-decidim-only-for-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]  # a throwaway test server on loopback
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                  "tests.decidim.fake_decidim", "oauth2_provider"]  # ours first: our consent page
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.middleware.csrf.CsrfViewMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware"]
ROOT_URLCONF = "tests.decidim.fake_decidim.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["FAKE_DECIDIM_DB"]}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
LOGIN_URL = "/users/sign_in"
# Two browsers on one host share cookies by name, whatever the port: keep this server's apart from Agora's.
SESSION_COOKIE_NAME = "decidim_session"
CSRF_COOKIE_NAME = "decidim_csrf"
OAUTH2_PROVIDER = {
    "SCOPES": {"public": "Your public profile and e-mail address"},
    "DEFAULT_SCOPES": ["public"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": 7200,
    "REQUEST_APPROVAL_PROMPT": "auto",  # Doorkeeper: no consent screen again while a token is valid
    "PKCE_REQUIRED": False,
    "OAUTH2_SERVER_CLASS": "tests.decidim.fake_decidim.views.DoorkeeperLikeServer",
}
