/* Agora Live's service worker: shows the push notifications the server sends (live/notifications/push.py) and
 * opens their page when tapped. It caches nothing: no private page is ever kept on the device. */
"use strict";

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "Agora Live", {
    body: data.body || "", tag: data.tag || "", data: { url: data.url || "/" }, icon: "/static/live/icon-192.png"
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.openWindow(url));
});
