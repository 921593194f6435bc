import email as email_parser
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.utils import translation

from debates.models import Debate
from tests.debates.conftest import make_debate


def prefs(user, **fields):
    """`user`'s notification preferences, with `fields` set and saved."""
    from live.notifications import services

    preferences = services.preferences_of(user)
    for name, value in fields.items():
        setattr(preferences, name, value)
    preferences.save()
    return preferences


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


class Inbox:
    def __init__(self):
        self.messages = []
        self.accept = None  # a number: accept that many more messages, then answer the next one 451 (once)

    async def handle_DATA(self, server, session, envelope):
        if self.accept is not None:
            if self.accept == 0:
                self.accept = None
                return "451 4.3.0 Temporary failure, try again later"
            self.accept -= 1
        message = email_parser.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()
