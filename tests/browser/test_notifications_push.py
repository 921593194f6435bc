"""Push on this device, in Chromium: the preferences page subscribes this browser and stops. Headless Chromium cannot
reach a real push service from here, so the page's PushManager answers a subscription that points at the suite's
push service (tests/notifications/test_push.py), which then receives and decrypts what the server pushes."""

import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings as django_settings
from playwright.sync_api import expect

from live.notifications import push
from live.notifications.models import PushSubscription
from tests import helpers
from tests.helpers import LiveServer, daphne_env, free_port
from tests.notifications.test_push import PushService, b64, point

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPECTED_BODY = "Bienvenue sur Agora Live, alice\u00a0!"
FAKE_PUSH_MANAGER = """(device) => {
  const bytes = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - text.length % 4) % 4)), c => c.charCodeAt(0)).buffer;
  // The browser keeps its subscription across page loads, as a real one does.
  const make = () => ({ endpoint: device.endpoint, getKey: (name) => bytes(device[name]),
                        unsubscribe: async () => { current = null; localStorage.removeItem("fake-push"); return true; } });
  let current = localStorage.getItem("fake-push") ? make() : null;
  PushManager.prototype.getSubscription = async function () { return current; };
  PushManager.prototype.subscribe = async function (options) {
    if (!options || !options.userVisibleOnly || !options.applicationServerKey) throw new Error("bad options");
    current = make();
    localStorage.setItem("fake-push", "1");
    return current;
  };
}"""


def wait_for(page, found, what, timeout=30):
    """`found()` once it is truthy, letting Playwright dispatch the CDP events meanwhile; the bound is for a failure
    only (a loaded machine takes seconds to start a service worker and fetch a notification's icon)."""
    deadline = time.monotonic() + timeout
    while not (result := found()):
        assert time.monotonic() < deadline, f"no sign of {what} within {timeout} s"
        page.wait_for_timeout(50)
    return result


def test_subscribe_and_stop_on_this_device(browser, alice, settings):
    vapid = ec.generate_private_key(ec.SECP256R1())
    keys = {"WEBPUSH_VAPID_PRIVATE_KEY": b64(vapid.private_numbers().private_value.to_bytes(32, "big")),
            "WEBPUSH_VAPID_PUBLIC_KEY": b64(point(vapid)), "WEBPUSH_INSECURE_HOSTS": "127.0.0.1"}
    for name, value in keys.items():
        setattr(settings, name, value if name != "WEBPUSH_INSECURE_HOSTS" else ["127.0.0.1"])
    service = PushService(point(vapid))
    server = LiveServer(free_port(), daphne_env(**keys)).start()
    context = browser.new_context(locale="fr-FR")
    try:
        context.grant_permissions(["notifications"], origin=server.url)
        context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": helpers.session_cookie(alice),
                              "url": server.url}])
        device = service.device("phone")
        context.add_init_script(f"({FAKE_PUSH_MANAGER})({json.dumps(device)})")
        page = context.new_page()
        page.goto(server.url + "/notifications/preferences/")
        status = page.locator("#push-status")
        expect(status).to_have_text("Cet appareil ne reçoit pas les notifications push.")
        page.locator("#push-on").click()
        expect(status).to_have_text("Cet appareil reçoit les notifications push.")
        subscription = PushSubscription.objects.get(user=alice)
        assert subscription.endpoint == device["endpoint"] and subscription.auth == device["auth"]
        assert page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => !!r)")
        page.reload()
        expect(status).to_have_text("Cet appareil reçoit les notifications push.")  # the server holds it
        # Its session ended (here: the subscription pruned): the browser still has one, the page says it is off.
        PushSubscription.objects.filter(user=alice).delete()
        page.reload()
        expect(status).to_have_text("Cet appareil ne reçoit pas les notifications push.")
        page.locator("#push-on").click()  # the browser's subscription, tied to this session again
        expect(status).to_have_text("Cet appareil reçoit les notifications push.")
        assert PushSubscription.objects.get(user=alice).endpoint == device["endpoint"]

        from django.utils.translation import gettext_lazy

        from live.notifications.services import notify
        notification = notify(user=alice, kind="welcome", text=gettext_lazy("Welcome to Agora Live, %(name)s!"),
                              params={"name": "alice"}, url="/")
        assert push.send(notification.pk) == 1
        assert service.received[0][1]["body"] == "Bienvenue sur Agora Live, alice\u00a0!"

        # What the push service received, handed to the service worker as the browser would (CDP). Chromium logs
        # the push event's end (its waitUntil settled: the worker started, the notification's icon fetched from
        # daphne, the notification shown) to DevTools' background services: the test waits for that event, then
        # looks. (It looked for the notification for 5 s, once too few on a loaded machine.)
        cdp = context.new_cdp_session(page)
        registrations, pushes = [], []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
        cdp.on("BackgroundService.backgroundServiceEventReceived",
               lambda event: pushes.append(event["backgroundServiceEvent"]))
        cdp.send("BackgroundService.startObserving", {"service": "pushMessaging"})
        cdp.send("BackgroundService.setRecording", {"shouldRecord": True, "service": "pushMessaging"})
        cdp.send("ServiceWorker.enable")
        ours = wait_for(page, lambda: [r for r in registrations if r["scopeURL"] == server.url + "/"],
                        "the service worker's registration")
        cdp.send("ServiceWorker.deliverPushMessage", {"origin": server.url + "/",
                                                      "registrationId": ours[0]["registrationId"],
                                                      "data": json.dumps(service.received[0][1])})
        [ended] = wait_for(page, lambda: [e for e in pushes if e["eventName"] == "Push event completed"],
                           "the end of the push event")
        assert {m["key"]: m["value"] for m in ended["eventMetadata"]} == {"Status": "Success"}
        shown = "async () => (await (await navigator.serviceWorker.ready).getNotifications()).map(n => n.body)"
        assert page.evaluate(shown) == [EXPECTED_BODY]

        page.locator("#push-off").click()
        expect(status).to_have_text("Cet appareil ne reçoit pas les notifications push.")
        assert not PushSubscription.objects.filter(user=alice).exists()
    finally:
        context.close()
        server.stop()
        service.server.shutdown()


def test_chromium_finds_the_site_installable(open_page):
    page = open_page(None, "/")
    session = page.context.new_cdp_session(page)
    manifest = session.send("Page.getAppManifest")
    assert not manifest.get("errors"), manifest
    assert json.loads(manifest["data"])["name"] == "Agora Live"
    errors = {e["errorId"] for e in session.send("Page.getInstallabilityErrors")["installabilityErrors"]}
    # Playwright's contexts are incognito, where nothing installs; any problem of ours (no manifest, no suitable
    # icon, wrong display or start URL) would be listed too.
    assert errors <= {"in-incognito"}, errors
