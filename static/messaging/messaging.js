/* Private messages: the few behaviours a server-rendered page cannot have on its own.
 *  - the composer keeps what was typed (draft in localStorage), retries a send that failed for network reasons
 *    with the SAME client id (the server creates the message once), and takes a fresh id after a success;
 *  - typing frames (at most one every 2.5 s) and the expiry of other people's "is writing…" lines;
 *  - read receipts: when a message from someone else arrives while the page is visible, tell the server;
 *  - the inbox keeps its rows in order of last activity as pushes update them.
 * Everything works without this file: plain form posts, redirects, a reload shows the latest state.
 */
(function () {
  "use strict";

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }


  // --- inbox order -------------------------------------------------------------------------------------------
  function sortInbox() {
    var list = document.getElementById("inbox-list");
    if (!list) return;
    var rows = Array.prototype.slice.call(list.querySelectorAll(":scope > li[data-activity]"));
    var sorted = rows.slice().sort(function (a, b) {
      return (parseInt(b.getAttribute("data-activity"), 10) || 0) - (parseInt(a.getAttribute("data-activity"), 10) || 0);
    });
    var same = sorted.every(function (row, i) { return row === rows[i]; });
    if (same) return;
    var active = document.activeElement;  // a moved element loses the focus: given back after the move
    sorted.forEach(function (row) { list.appendChild(row); });
    if (active && active !== document.activeElement && document.body.contains(active)) active.focus();
  }

  // --- conversation page ---------------------------------------------------------------------------------------
  var section = null, me = "", lastRead = 0, readPending = false;

  function markRead() {
    if (!section || document.visibilityState !== "visible" || readPending) return;
    var newest = 0;
    var items = document.querySelectorAll("#message-list [data-message]");
    for (var i = 0; i < items.length; i++) {
      var id = parseInt(items[i].getAttribute("data-message"), 10) || 0;
      if (id > newest && items[i].getAttribute("data-author") !== me) newest = id;
    }
    if (newest <= lastRead) return;
    readPending = true;
    var body = new URLSearchParams();
    body.set("upto", String(newest));
    fetch(section.getAttribute("data-read-url"), {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (response.ok) lastRead = Math.max(lastRead, newest);
    }).catch(function () { /* next update retries */ })
      .then(function () { readPending = false; });
  }

  function expireTyping() {
    var now = Date.now();
    var lines = document.querySelectorAll("#typing-list [data-typing]");
    for (var i = 0; i < lines.length; i++) {
      var seen = parseInt(lines[i].getAttribute("data-seen-at"), 10);
      if (!seen) lines[i].setAttribute("data-seen-at", String(now));
      else if (now - seen > 6000) lines[i].remove();
    }
  }

  function setupComposer(form) {
    var textarea = form.querySelector("textarea[name=body]");
    var clientId = form.querySelector("input[name=client_id]");
    var status = document.getElementById("composer-status");
    var errorBox = document.getElementById("composer-error");
    var stream = section.getAttribute("data-stream");
    var draftKey = "agora-draft-" + form.getAttribute("data-conversation");
    var pending = false, retryDelay = 2000, retryTimer = null, sentBody = null, lastTyping = 0;

    try {
      var saved = window.localStorage.getItem(draftKey);
      if (saved && !textarea.value) {
        var draft = JSON.parse(saved);
        textarea.value = draft.body || "";
        if (draft.clientId) clientId.value = draft.clientId;   // an unconfirmed send keeps its id across reloads
        if (draft.pending) setPending(true);
      }
    } catch (e) { /* no storage: drafts live as long as the page */ }

    function saveDraft() {
      try {
        if (textarea.value) {
          window.localStorage.setItem(draftKey, JSON.stringify({ body: textarea.value, clientId: clientId.value, pending: pending }));
        } else {
          window.localStorage.removeItem(draftKey);
        }
      } catch (e) { /* ignore */ }
    }

    function setPending(on) {
      pending = on;
      form.setAttribute("data-pending", on ? "true" : "false");
      if (status) status.textContent = on ? status.getAttribute("data-msg-pending") : "";
      if (!on) { retryDelay = 2000; clearTimeout(retryTimer); retryTimer = null; }
    }

    function retry() {
      clearTimeout(retryTimer);
      retryTimer = null;
      if (pending && textarea.value.trim()) window.htmx.trigger(form, "submit");
    }

    function scheduleRetry() {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(retry, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    }

    textarea.addEventListener("input", function () {
      saveDraft();
      var now = Date.now();
      // Typing frames are refused until the socket follows the conversation: wait for "subscribed".
      if (textarea.value.trim() && now - lastTyping > 2500 && section.hasAttribute("data-subscribed") &&
          window.agoraLive) {
        lastTyping = now;
        window.agoraLive.typing(stream);
      }
    });
    textarea.addEventListener("keydown", function (evt) {
      if (evt.key === "Enter" && (evt.ctrlKey || evt.metaKey)) {
        evt.preventDefault();
        if (form.requestSubmit) form.requestSubmit(); else window.htmx.trigger(form, "submit");
      }
    });

    // Sent over the socket (live.js: live:writing, then live:written or live:refused) or over HTTP (htmx), the
    // composer behaves the same.
    function sending() {
      sentBody = textarea.value;
      errorBox.innerHTML = "";
      if (status && !pending) status.textContent = "";  // a second "sent" is said again
      saveDraft();
    }
    function sent() {
      setPending(false);
      // Said to its author (the others' announcement of a new message is not pushed to them).
      if (status) status.textContent = status.getAttribute("data-msg-sent") || "";
      if (textarea.value === sentBody) textarea.value = "";
      clientId.value = window.Live.freshKey();
      lastTyping = 0;
      saveDraft();
      markRead();
    }
    function notSent() {
      setPending(true);        // network or server trouble: keep the text and the id, send again later
      saveDraft();
      scheduleRetry();
    }
    form.addEventListener("htmx:configRequest", sending);
    form.addEventListener("live:writing", sending);
    form.addEventListener("htmx:afterRequest", function (evt) {
      var xhr = evt.detail.xhr, code = xhr ? xhr.status : 0;
      if (code === 204) sent();  // (a 200 is not the send's answer: the sign-in page after the session ended)
      else if (code >= 200 && code < 300) setPending(false);
      else if (code === 0 || code >= 500) notSent();
      else setPending(false);  // refused (too long, blocked, rate limited): the write seam says why, keep the text
    });
    form.addEventListener("live:written", sent);
    form.addEventListener("live:refused", function (evt) {
      if (evt.detail.kind === "unavailable") notSent();
      else setPending(false);
    });
    // Sent again by itself, which its status line says: not live.js's "no answer came, check and retry" (cancelled).
    form.addEventListener("htmx:sendError", function (evt) {
      evt.preventDefault();
      setPending(true); saveDraft(); scheduleRetry();
    });
    form.addEventListener("htmx:responseError", function (evt) {
      if (evt.detail.xhr && evt.detail.xhr.status >= 500) evt.preventDefault();
    });
    window.addEventListener("online", retry);
    document.addEventListener("htmx:wsOpen", function () { setTimeout(retry, 200); });
  }

  function init() {
    sortInbox();
    section = document.getElementById("conversation");
    if (section) {
      me = section.getAttribute("data-user") || "";
      lastRead = parseInt(section.getAttribute("data-last-read"), 10) || 0;
      var form = document.getElementById("composer");
      if (form && window.htmx) setupComposer(form);
      if (!window.location.hash && !/[?&]before=/.test(window.location.search)) scrollToLatest();
      setInterval(expireTyping, 1000);
      document.addEventListener("visibilitychange", markRead);
      markRead();
    }
  }

  // A chat reads from the bottom: open on the latest message, and follow new ones only when the reader is already
  // at the bottom (someone reading older messages keeps their place; the announcer tells them what arrived).
  var nearBottom = true;
  function atBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 160;
  }
  function scrollToLatest() {
    // The composer sits right under the latest message: showing it shows the latest messages above it.
    var target = document.getElementById("composer") || document.querySelector("#message-list > li:last-child");
    if (target) target.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    nearBottom = atBottom();
    if (!section) return;
    var frame;
    try { frame = JSON.parse(evt.detail.message); } catch (e) { return; }
    if (frame.type === "subscribed" && frame.stream === section.getAttribute("data-stream")) {
      section.setAttribute("data-subscribed", "true");
    }
  });
  document.addEventListener("htmx:wsClose", function () {
    if (section) section.removeAttribute("data-subscribed");
  });

  // "Load earlier messages" is replaced by the messages it loads (and the next such link): the focus goes to the
  // first message loaded, where the reading goes on, instead of falling to the page's start with the link.
  var earlier = null;
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.id === "load-earlier") earlier = { after: target.nextElementSibling };
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!earlier) return;
    var stop = earlier.after, list = document.getElementById("message-list");
    earlier = null;
    for (var el = list ? list.firstElementChild : null; el && el !== stop; el = el.nextElementSibling) {
      if (el.hasAttribute("data-message")) {
        el.setAttribute("tabindex", "-1");
        el.focus();
        return;
      }
    }
  });

  // #typing-list is a polite live region: a line put in anew is said again. While someone keeps typing, each of
  // their frames (one every 2.5 s) only keeps their line alive instead of replacing it (said once).
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target, fragment = evt.detail.fragment;
    if (!target || !target.hasAttribute || !target.hasAttribute("data-typing") || !fragment) return;
    if ((fragment.textContent || "").trim() !== (target.textContent || "").trim()) return;
    evt.detail.shouldSwap = false;
    target.setAttribute("data-seen-at", String(Date.now()));
  });

  document.addEventListener("live:updated", function () {
    sortInbox();
    if (section) {
      expireTyping();
      markRead();
      if (nearBottom) scrollToLatest();
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
