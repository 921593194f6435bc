"""Demo content for `make run`: a conversation between alice and bob (idempotent)."""

import uuid

from django.contrib.auth import get_user_model
from django.test.utils import override_settings

from live.messaging import services

# Fixed client ids: running the seed twice finds the same messages instead of writing new ones.
NS = uuid.UUID("6f1c5c8e-3a52-4c55-9d8e-0d3f0a7b9e01")
LINES = [
    ("alice", "bob", "Bonjour Bob ! Tu viens à la réunion de jeudi sur le **budget participatif** ?"),
    ("bob", "alice", "Oui, j'y serai. J'ai lu la proposition pour le parc : https://example.org/parc"),
    ("alice", "bob", "Super. On pourrait présenter ensemble :\n- la piste cyclable\n- les jardins partagés"),
]


def seed(stdout) -> None:
    User = get_user_model()
    people = {u.nickname: u for u in User.objects.filter(nickname__in=["alice", "bob"])}
    if len(people) < 2:
        return
    with override_settings(RATE_LIMITS_ENABLED=False):
        message = None
        for i, (author, to, body) in enumerate(LINES):
            client_id = uuid.uuid5(NS, str(i))
            if message is None:
                message = services.start_conversation(author=people[author], recipients=[people[to]], body=body,
                                                      client_id=client_id)
            else:
                message = services.send_message(author=people[author], conversation=message.conversation,
                                                body=body, client_id=client_id)
    stdout.write("Messaging: alice and bob have a conversation (sign in as bob to read it).")
