import pytest
from django.utils import translation

from debates.models import Debate
from tests.debates.conftest import make_debate


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.RATE_LIMITS_ENABLED = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PUBLIC_URL = "https://agora.example.org"
    with translation.override("en"):  # the actor browses in English unless a test says otherwise
        yield


@pytest.fixture
def debate(fiona) -> Debate:
    return make_debate(fiona)
