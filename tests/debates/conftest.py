import pytest

from debates import services
from debates.models import Debate


def make_debate(author, title="Faut-il piétonniser la place du marché ?", **extra):
    return services.create_debate(author=author, title=title,
                                  description=extra.pop("description", "La mairie propose de fermer la place "
                                                                      "aux voitures le samedi."), **extra)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings, request):
    # Rate limits get their own tests (which opt back in with the `rate_limits` marker).
    settings.RATE_LIMITS_ENABLED = bool(request.node.get_closest_marker("rate_limits"))


@pytest.fixture
def debate(fiona) -> Debate:
    return make_debate(fiona)
