import pytest
from django.utils import translation

from debates import services
from debates.models import Debate


def make_debate(author, title="Faut-il piétonniser la place du marché ?", **extra):
    return services.create_debate(author=author, title=title,
                                  description=extra.pop("description", "La mairie propose de fermer la place "
                                                                      "aux voitures le samedi."), **extra)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings, request):
    # Rate limits get their own tests, which opt back in by using the `rate_limits` fixture.
    settings.RATE_LIMITS_ENABLED = "rate_limits" in request.fixturenames
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users
    with translation.override("en"):  # messages are asserted in English (the source language)
        yield


@pytest.fixture
def rate_limits(settings):
    settings.RATE_LIMITS_ENABLED = True


@pytest.fixture
def debate(fiona) -> Debate:
    return make_debate(fiona)
