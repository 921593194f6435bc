"""Web Push end to end against a local push service: it checks the VAPID header (RFC 8292: an ES256 JWT for its
origin, signed by the key it names) and decrypts the body (RFC 8291 aes128gcm) with the subscriber's keys, as a
browser's push service and the browser would. A 410 answer deletes the subscription."""

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from debates import services as debates
from live.notifications import services
from live.notifications.models import Channel, Notification, PushSubscription
from tests.helpers import session_cookie


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def point(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


class PushService:
    """A push service on a spare port: POST /push/<device> with a valid VAPID header gets 201 and the decrypted
    message is kept; /push/gone answers 410."""

    def __init__(self, vapid_public: bytes):
        self.vapid_public, self.devices, self.received, self.refused = vapid_public, {}, [], []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                device = self.path.rsplit("/", 1)[-1]
                problem = service.check_vapid(self.headers.get("Authorization", ""))
                if problem:
                    service.refused.append(problem)
                    self.send_response(401)
                elif device == "gone":
                    self.send_response(410)
                else:
                    assert self.headers["Content-Encoding"] == "aes128gcm"
                    private, auth = service.devices[device]
                    plain = http_ece.decrypt(body, private_key=private, auth_secret=auth, version="aes128gcm")
                    service.received.append((device, json.loads(plain)))
                    self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def check_vapid(self, header: str) -> str:
        if not header.startswith("vapid "):
            return "no vapid header"
        fields = dict(part.strip().split("=", 1) for part in header[6:].split(","))
        if unb64(fields["k"]) != self.vapid_public:
            return "unknown key"
        head, claims, signature = fields["t"].split(".")
        raw = unb64(signature)
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.vapid_public)
        try:
            key.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                       f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        except Exception:
            return "bad signature"
        claims = json.loads(unb64(claims))
        if claims["aud"] != self.origin or claims["exp"] < time.time() or not claims["sub"].startswith("mailto:"):
            return f"bad claims {claims}"
        return ""

    def device(self, name: str) -> dict:
        """A browser's subscription to this service (its keys, as PushManager.subscribe gives them)."""
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.devices[name] = (private, auth)
        return {"endpoint": f"{self.origin}/push/{name}", "p256dh": b64(point(private)), "auth": b64(auth)}


@pytest.fixture
def push_service(settings):
    vapid = ec.generate_private_key(ec.SECP256R1())
    settings.WEBPUSH_VAPID_PRIVATE_KEY = b64(vapid.private_numbers().private_value.to_bytes(32, "big"))
    settings.WEBPUSH_VAPID_PUBLIC_KEY = b64(point(vapid))
    settings.WEBPUSH_VAPID_SUBJECT = "mailto:mairie@example.org"
    service = PushService(point(vapid))
    settings.WEBPUSH_INSECURE_HOSTS = ["127.0.0.1"]
    yield service
    service.server.shutdown()


def test_a_reply_is_pushed_encrypted_to_each_device_in_the_recipients_language(
        push_service, debate, alice, bob, django_capture_on_commit_callbacks):
    preferences = services.preferences_of(alice)
    preferences.reply, preferences.last_language = Channel.PUSH, "fr"
    preferences.save()
    for name in ("phone", "laptop"):
        services.subscribe_push(user=alice, session_key=session_cookie(alice), **push_service.device(name))
    root = debates.post_comment(author=alice, debate=debate, body="Et les livraisons ?")
    with django_capture_on_commit_callbacks(execute=True):
        debates.post_comment(author=bob, debate=debate, body="Avant 10 h.", parent=root)
    assert push_service.refused == []
    assert sorted(device for device, _message in push_service.received) == ["laptop", "phone"]
    message = push_service.received[0][1]
    assert message["body"].startswith("bob a répondu à votre commentaire")
    assert message["url"].startswith("https://agora.example.org/debates/")
    assert Notification.objects.get(user=alice, kind="debate.reply").email == ""  # push, not e-mail


def test_a_subscription_the_push_service_says_is_gone_is_deleted(push_service, alice, bob):
    preferences = services.preferences_of(alice)
    preferences.message = Channel.PUSH
    preferences.save()
    key = session_cookie(alice)
    services.subscribe_push(user=alice, session_key=key, **push_service.device("phone"))
    services.subscribe_push(user=alice, session_key=key, **push_service.device("gone"))
    from django.utils.translation import gettext_lazy

    from live.notifications import push

    notification = services.notify(user=alice, kind="message", text=gettext_lazy("%(name)s sent you a private message"),
                                   params={"name": "bob"}, url="/messages/1/")
    assert push.send(notification.pk) == 1
    assert list(PushSubscription.objects.filter(user=alice).values_list("endpoint", flat=True)) == \
        [f"{push_service.origin}/push/phone"]
    assert push_service.received[0][1]["body"] == "bob vous a envoyé un message privé"  # never the message's text


def test_a_plain_http_endpoint_is_refused(alice, settings):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.subscribe_push(user=alice, endpoint="http://push.example.org/x", p256dh="B" * 87, auth="a" * 22)
    assert not PushSubscription.objects.exists()


def test_signing_out_revokes_the_devices_subscription_only(client, push_service, alice):
    client.force_login(alice)
    key = client.session.session_key
    services.subscribe_push(user=alice, session_key=key, **push_service.device("phone"))
    services.subscribe_push(user=alice, session_key="another-session", **push_service.device("laptop"))
    client.post("/accounts/logout/")
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [f"{push_service.origin}/push/laptop"]


def test_the_page_offers_push_only_with_vapid_keys_and_the_views_check_what_they_get(client, push_service, alice,
                                                                                   settings):
    client.force_login(alice)
    page = client.get("/notifications/preferences/").content.decode()
    assert 'value="push"' in page and 'id="push-device"' in page
    device = push_service.device("phone")
    # push.js posts as htmx would: a refusal is a 4xx it can tell (without it the seam redirects back)
    assert client.post("/notifications/push/subscribe/", {**device, "endpoint": "http://evil.example/x"},
                       HTTP_HX_REQUEST="true").status_code == 400
    assert client.post("/notifications/push/subscribe/", device).status_code == 204
    assert PushSubscription.objects.get(user=alice).endpoint == device["endpoint"]
    assert client.post("/notifications/push/unsubscribe/", {"endpoint": device["endpoint"]}).status_code == 204
    assert not PushSubscription.objects.exists()
    assert client.get("/sw.js")["Content-Type"].startswith("text/javascript")
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    page = client.get("/notifications/preferences/").content.decode()
    assert 'value="push"' not in page and 'id="push-device"' not in page


def test_private_message_text_is_pushed_only_to_who_chose_it(push_service, alice, bob,
                                                             django_capture_on_commit_callbacks):
    import uuid

    from live.messaging import services as messaging
    from tests.notifications.conftest import prefs

    prefs(bob, message=Channel.PUSH, last_language="fr")
    services.subscribe_push(user=bob, session_key=session_cookie(bob), **push_service.device("phone"))
    with django_capture_on_commit_callbacks(execute=True):
        conversation = messaging.start_conversation(author=alice, recipients=["bob"], body="Code de la porte : 1234",
                                                    client_id=uuid.uuid4()).conversation
    messaging.mark_read(user=bob, conversation=conversation)  # (a notification only when nothing was unread)
    prefs(bob, push_message_text=True)
    with django_capture_on_commit_callbacks(execute=True):
        messaging.send_message(author=alice, conversation=conversation, body="Rendez-vous à 18 h",
                               client_id=uuid.uuid4())
    bodies = [message["body"] for _device, message in push_service.received]
    assert bodies[0] == "alice vous a envoyé un message privé"  # the default: never the words
    assert bodies[-1] == "alice vous a envoyé un message privé\nRendez-vous à 18 h"


def test_erasing_the_account_drops_every_device(push_service, alice):
    services.subscribe_push(user=alice, session_key="one", **push_service.device("phone"))
    services.subscribe_push(user=alice, session_key="", **push_service.device("laptop"))
    services.erase_recipient(user=alice, former={"nickname": "alice", "email": "alice@example.org"})
    assert not PushSubscription.objects.exists()


def _welcome(user):
    from django.utils.translation import gettext_lazy

    return services.notify(user=user, kind="welcome", text=gettext_lazy("Welcome to Agora Live, %(name)s!"),
                           params={"name": user.nickname}, url="/")


def test_a_device_is_pushed_to_only_while_its_session_lasts(push_service, alice, bob, settings):
    """Expired (not yet cleared), deleted by `clearsessions`, or signing in someone else now: that device's
    subscription goes when something is pushed, and nothing reaches it."""
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from live.notifications import push

    devices = {name: push_service.device(name) for name in ("phone", "expired", "cleared", "other")}
    for name, device in devices.items():
        services.subscribe_push(user=alice, session_key=session_cookie(bob if name == "other" else alice), **device)
    expired, cleared = (PushSubscription.objects.get(endpoint=devices[name]["endpoint"]).session_key
                        for name in ("expired", "cleared"))
    Session.objects.filter(session_key=expired).update(expire_date=timezone.now() - timedelta(seconds=1))
    Session.objects.filter(session_key=cleared).delete()
    assert push.send(_welcome(alice).pk) == 1
    assert [device for device, _message in push_service.received] == ["phone"]
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [devices["phone"]["endpoint"]]


def test_clearsessions_drops_the_subscriptions_of_ended_sessions(push_service, alice):
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.utils import timezone

    kept, expired = push_service.device("kept"), push_service.device("expired")
    services.subscribe_push(user=alice, session_key=session_cookie(alice), **kept)
    services.subscribe_push(user=alice, session_key=session_cookie(alice), **expired)
    services.subscribe_push(user=alice, session_key="", **push_service.device("nosession"))
    key = PushSubscription.objects.get(endpoint=expired["endpoint"]).session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    call_command("clearsessions")
    assert not Session.objects.filter(session_key=key).exists()
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [kept["endpoint"]]


def test_a_renewed_session_keeps_its_devices_subscription(client, push_service, alice):
    """Changing one's password renews the session's key (and ends the other sessions): the device that subscribed
    in this session keeps receiving; the preferences page says so. The subscription of another session goes."""
    from live.notifications import push

    alice.set_password("old-secret-1234")
    alice.save()
    client.force_login(alice)
    device = push_service.device("phone")
    assert client.post("/notifications/push/subscribe/", device).status_code == 204
    services.subscribe_push(user=alice, session_key=session_cookie(alice), **push_service.device("laptop"))
    before = client.session.session_key
    response = client.post("/accounts/password/", {
        "old_password": "old-secret-1234", "new_password1": "Nouveau-secret-5678", "new_password2": "Nouveau-secret-5678"})
    assert response.status_code == 302, response.content.decode()[:500]
    after = client.session.session_key
    assert after != before
    assert list(PushSubscription.objects.values_list("endpoint", "session_key")) == [(device["endpoint"], after)]
    assert push.send(_welcome(alice).pk) == 1
    page = client.get("/notifications/preferences/").content.decode()
    assert f'data-endpoints="{device["endpoint"]}"' in page


def test_nothing_is_pushed_about_a_comment_hidden_before_the_push_went(push_service, debate, alice, bob, mona):
    from live.notifications import push

    services.subscribe_push(user=alice, session_key=session_cookie(alice), **push_service.device("phone"))
    from tests.notifications.conftest import prefs

    prefs(alice, reply=Channel.PUSH)
    root = debates.post_comment(author=alice, debate=debate, body="Et les livraisons ?")
    reply = debates.post_comment(author=bob, debate=debate, body="Avant 10 h, idiot.", parent=root)  # task not run yet
    debates.hide_comment(comment=reply, actor=mona, reason="Insulte")
    assert push.send(Notification.objects.get(user=alice, kind="debate.reply").pk) == 0
    assert push_service.received == []


def test_a_flood_of_replies_is_not_a_flood_of_pushes(push_service, debate, alice, bob,
                                                      django_capture_on_commit_callbacks):
    from tests.notifications.conftest import prefs

    prefs(alice, reply=Channel.PUSH)
    services.subscribe_push(user=alice, session_key=session_cookie(alice), **push_service.device("phone"))
    root = debates.post_comment(author=alice, debate=debate, body="Et les livraisons ?")
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(14):
            debates.post_comment(author=bob, debate=debate, body=f"Réponse {n}", parent=root)
    assert len(push_service.received) == 10  # notification_push: 10 per 15 minutes; the rest stay on the site
    assert Notification.objects.filter(user=alice, kind="debate.reply").count() == 14


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again on leaving: a connection there is refused


def test_an_unreachable_push_service_fails_its_device_only_and_goes_after_a_week(push_service, alice):
    from datetime import timedelta

    from django.utils import timezone

    from live.notifications import push

    dead = {**push_service.device("dead"), "endpoint": f"http://127.0.0.1:{_closed_port()}/push/dead"}
    services.subscribe_push(user=alice, session_key=session_cookie(alice), **dead)  # tried first
    services.subscribe_push(user=alice, session_key=session_cookie(alice), **push_service.device("phone"))

    assert push.send(_welcome(alice).pk) == 1
    assert [device for device, _message in push_service.received] == ["phone"]
    unreachable = PushSubscription.objects.get(endpoint=dead["endpoint"])
    assert unreachable.failing_since is not None  # kept: the network may come back

    # A week later it still fails: it goes. The phone, failing once back then, answers again: it stays.
    week_ago = timezone.now() - push.UNREACHABLE_FOR - timedelta(minutes=1)
    PushSubscription.objects.update(failing_since=week_ago)
    assert push.send(_welcome(alice).pk) == 1
    assert [device for device, _message in push_service.received] == ["phone", "phone"]
    assert list(PushSubscription.objects.values_list("endpoint", "failing_since")) == \
        [(f"{push_service.origin}/push/phone", None)]
