"""Bytes no text column can hold (NUL, undecodable UTF-8, escaped lone surrogates) in a path, a query string or a
body get one clear 400 before anything reads them (live.middleware.RequestInputMiddleware); nothing is written."""

import pytest
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from django.test import Client

from live.messaging.models import Block, Conversation
from live.middleware import RequestInputMiddleware
from tests.helpers import connect, follow

pytestmark = pytest.mark.django_db

MESSAGE_FR = "Cette adresse ou ce formulaire contient des caractères inutilisables"
MESSAGE_EN = "This address or form contains characters that cannot be used"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_nul_in_a_profile_url_answers_400_in_french(client):
    response = client.get("/accounts/people/al%00ice/")
    assert response.status_code == 400
    html = response.content.decode()
    assert '<html lang="fr">' in html and MESSAGE_FR in html


def test_a_nul_in_the_debate_search_answers_400_in_english(client):
    response = client.get("/debates/?q=a%00b", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert MESSAGE_EN in response.content.decode()


def test_a_lone_surrogate_in_a_query_string_answers_400(client):
    # "\ud800" as UTF-8 would be ED A0 80: the only way it can travel in a URL, and not valid UTF-8.
    assert client.get("/debates/?q=%ED%A0%80").status_code == 400


def test_a_nul_in_a_message_recipient_writes_nothing(alice, bob):
    response = signed_in(alice).post("/messages/new/", "recipients=bob%00&body=hello",
                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert not Conversation.objects.exists()


def test_an_undecodable_nickname_to_block_writes_nothing(alice, bob):
    response = signed_in(alice).post("/messages/block/", "nickname=b%FFob",
                                     content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert not Block.objects.exists()


def test_a_nul_in_a_multipart_field_answers_400(alice, bob):
    response = signed_in(alice).post("/messages/block/", {"nickname": "bob\x00"})  # the test client's multipart
    assert response.status_code == 400
    assert not Block.objects.exists()


@pytest.mark.parametrize("body", [b'{"nickname": "bob\\u0000"}', b'{"nickname": "\\ud800"}', b'{"a": "\xff"}'])
def test_an_unusable_json_body_answers_400(alice, body):
    response = signed_in(alice).post("/messages/block/", body, content_type="application/json")
    assert response.status_code == 400


def test_a_lone_surrogate_in_a_daphne_path_answers_400():
    # daphne decodes the path with errors="replace" (U+FFFD) and keeps the bytes in raw_path.
    scope = {"type": "http", "method": "GET", "path": "/accounts/people/a\ufffd/",
             "raw_path": b"/accounts/people/a%ED%A0%80/", "query_string": b"", "headers": []}
    request = ASGIRequest(scope, None)
    response = RequestInputMiddleware(lambda request: HttpResponse("view"))(request)
    assert response.status_code == 400


def test_emoji_rtl_and_cjk_go_through(client):
    response = client.get("/debates/?q=%F0%9F%98%80%20%D8%B3%D9%84%D8%A7%D9%85%20%E4%BD%A0%E5%A5%BD")
    assert response.status_code == 200
    assert "😀 سلام 你好" in response.content.decode()


def test_a_session_cookie_with_a_nul_is_no_session(alice):
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32 + "\x00"
    response = client.get("/accounts/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db(transaction=True)
async def test_a_socket_with_a_nul_in_its_session_cookie_is_anonymous(alice):
    ws = await connect(cookie="a" * 32 + "\x00")
    assert ws.connected_ok
    frame = await follow(ws, alice.stream_key, {"epoch": "", "seq": 0})
    assert frame["code"] == "not_signed_in"  # answered as anyone without a session, not "come back later"
    await ws.disconnect()
