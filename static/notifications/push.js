/* The "push on this device" box of the notification preferences: subscribe this browser (service worker + the
 * browser's push service, with our VAPID key) or stop. Without JavaScript or Push support the box says so. */
(function () {
  "use strict";

  var box = document.getElementById("push-device");
  if (!box) return;
  var status = document.getElementById("push-status");
  var on = document.getElementById("push-on");
  var off = document.getElementById("push-off");
  var key = box.getAttribute("data-vapid-key");
  var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];

  function say(attr) { status.textContent = box.getAttribute(attr); }

  function keyBytes(text) {
    var raw = atob((text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }

  function b64(buffer) {
    return btoa(String.fromCharCode.apply(null, new Uint8Array(buffer)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, subscription) {
    var body = new FormData();
    body.append("endpoint", subscription.endpoint);
    if (subscription.getKey) {
      body.append("p256dh", b64(subscription.getKey("p256dh")));
      body.append("auth", b64(subscription.getKey("auth")));
    }
    return fetch(url, { method: "POST", body: body, headers: { "X-CSRFToken": csrf, "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { if (!response.ok) throw new Error(String(response.status)); });
  }

  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    say(subscribed ? "data-msg-on" : "data-msg-off");
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !key) {
    say("data-msg-unsupported");
    return;
  }
  var ready = navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
    return navigator.serviceWorker.ready;
  });
  // On only if the server still has this browser's subscription for this session: one made in a session that has
  // ended since (signed out, expired) no longer receives anything.
  var known = (box.getAttribute("data-endpoints") || "").split(" ");
  ready.then(function (registration) { return registration.pushManager.getSubscription(); })
    .then(function (subscription) { show(!!subscription && known.indexOf(subscription.endpoint) >= 0); });

  on.addEventListener("click", function () {
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") { say("data-msg-denied"); return null; }
      return ready.then(function (registration) {
        return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      }).then(function (subscription) {
        return post(box.getAttribute("data-subscribe-url"), subscription).then(function () { show(true); });
      });
    }).catch(function () { say("data-msg-failed"); });
  });

  off.addEventListener("click", function () {
    ready.then(function (registration) { return registration.pushManager.getSubscription(); })
      .then(function (subscription) {
        if (!subscription) { show(false); return null; }
        return post(box.getAttribute("data-unsubscribe-url"), subscription).then(function () {
          return subscription.unsubscribe();
        }).then(function () { show(false); });
      }).catch(function () { say("data-msg-failed"); });
  });
})();
