/* Meetings, phone page: a live character counter for the contribution box. The page works without it. */
(function () {
  "use strict";
  function update(textarea) {
    var form = textarea.closest("form");
    var out = form && form.querySelector(".char-count");
    if (!out) return;
    var max = parseInt(out.getAttribute("data-max"), 10) || 280;
    var left = max - textarea.value.length;
    out.textContent = left + " / " + max;
    out.classList.toggle("is-low", left < 20);
  }
  document.addEventListener("input", function (evt) {
    if (evt.target && evt.target.id === "contribution-body") update(evt.target);
  });
  document.addEventListener("htmx:afterSettle", function () {
    var box = document.getElementById("contribution-body");
    if (box) update(box);
  });
  // A form emptied after it was sent over the socket (live.js resets it): no input event, so counted here, once the
  // reset is done (the event comes before it).
  document.addEventListener("reset", function (evt) {
    var box = evt.target && evt.target.querySelector && evt.target.querySelector("#contribution-body");
    if (box) setTimeout(function () { update(box); }, 0);
  });
})();

/* Meetings, phone page: a form sent over the page's socket (live.js, data-live-write) was written. What the HTTP
   answer would have rendered is done here: the form's status line says the server's words (role="status": said
   politely), and a contribution form gets a fresh client id (the same id again is the same contribution). */
(function () {
  "use strict";
  document.addEventListener("live:written", function (evt) {
    var form = evt.target, result = evt.detail && evt.detail.result;
    if (!form || !form.querySelector) return;
    var clientId = form.querySelector('input[name="client_id"]');
    if (clientId) clientId.value = window.Live.freshKey();
    var said = form.querySelector("[data-written-said]");
    if (said && result && result.message) {
      said.textContent = result.message;
      said.classList.add("flash-success");
    }
  });
  // A +1 or a reaction went through: the phone shows no words for it (the count moves, the reaction floats on the
  // projector), so the announcer says what a page without JavaScript says.
  var SAID = { "meetings.vote": "data-msg-voted", "meetings.react": "data-msg-reacted" };
  function sayDone(form) {
    var page = document.getElementById("meeting-live");
    var name = form && form.getAttribute && SAID[form.getAttribute("data-live-write")];
    var text = name && page && page.getAttribute(name);
    if (text && window.Live && window.Live.announce) window.Live.announce(text);
  }
  document.addEventListener("live:written", function (evt) { sayDone(evt.target); });
  document.addEventListener("htmx:afterRequest", function (evt) {  // the same sent over HTTP (no socket)
    if (evt.detail.successful) sayDone(evt.detail.elt);
  });
  document.addEventListener("live:writing", function (evt) {
    var said = evt.target && evt.target.querySelector && evt.target.querySelector("[data-written-said]");
    if (said) { said.textContent = ""; said.classList.remove("flash-success"); }
  });
})();

/* Meetings, phone page: "Raise my hand" and "Lower my hand" are two forms, a rule in the page's head shows the one
   that fits the speaker queue (pushed). The button pressed is hidden once the queue changes: its focus goes to the
   button shown in its place (which says the new state), instead of falling to the page's start. */
(function () {
  "use strict";
  var until = 0;  // a hand form was sent: its focus is watched until then
  function shown(el) { return el && el.getClientRects().length > 0; }
  function keepHandFocus() {
    if (!until) return;
    if (Date.now() > until) { until = 0; return; }
    var box = document.getElementById("hand-form");
    var active = document.activeElement;
    if (!box) return;
    var lost = !active || active === document.body || (box.contains(active) && !shown(active));
    if (!lost) {
      if (!box.contains(active)) until = 0;  // the person went elsewhere: leave them there
      return;
    }
    var buttons = box.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) {
      if (shown(buttons[i])) { buttons[i].focus(); until = 0; return; }
    }
  }
  function sent(evt) {
    var form = evt.target;
    if (!form || !form.closest || !form.closest("#hand-form")) return;
    until = Date.now() + 10000;
    keepHandFocus();
  }
  document.addEventListener("live:writing", function (evt) { sent(evt); });
  document.addEventListener("htmx:beforeRequest", function (evt) { sent({ target: evt.detail.elt }); });
  document.addEventListener("live:written", keepHandFocus);
  document.addEventListener("live:updated", keepHandFocus);
  document.addEventListener("htmx:afterSettle", keepHandFocus);
})();
