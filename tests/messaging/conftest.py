import uuid

import pytest

from live.messaging import services
from tests import helpers


@pytest.fixture
def dave(db):
    # dave: a fourth participant, for groups
    return helpers.make_user("dave")


def send(author, conversation, body="Bonjour", client_id=None):
    return services.send_message(author=author, conversation=conversation, body=body,
                                 client_id=client_id or uuid.uuid4())


@pytest.fixture
def chat(alice, bob):
    """alice and bob's one-to-one conversation, with one message from alice."""
    return services.start_conversation(author=alice, recipients=["bob"], body="Salut Bob",
                                       client_id=uuid.uuid4()).conversation


@pytest.fixture(autouse=True)
def english(settings):
    """Assertions read the English source strings (French is the site's default)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
