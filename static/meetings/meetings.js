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
  document.addEventListener("live:writing", function (evt) {
    var said = evt.target && evt.target.querySelector && evt.target.querySelector("[data-written-said]");
    if (said) { said.textContent = ""; said.classList.remove("flash-success"); }
  });
})();

/* Meetings, phone page: "Raise my hand" and "Lower my hand" are both on the page, a rule of its head shows the one
   that fits the speaker queue. Once a push shows the change, the button just pressed is hidden and would take the
   focus with it: the focus moves to the button now shown. */
(function () {
  "use strict";
  var pressed = null;  // the hand button that had the focus last
  document.addEventListener("focusin", function (evt) {
    pressed = evt.target.closest && evt.target.closest("#hand-form") ? evt.target : null;
  });
  function follow() {
    if (!pressed || !pressed.isConnected || pressed.getClientRects().length) return;  // still shown
    var active = document.activeElement;
    if (active && active !== document.body && active !== pressed) return;  // the person went elsewhere
    var shown = Array.prototype.filter.call(document.querySelectorAll("#hand-form button"), function (b) {
      return b.getClientRects().length > 0;
    });
    if (shown.length) shown[0].focus();
  }
  document.addEventListener("live:updated", follow);
  document.addEventListener("htmx:afterSettle", follow);
})();
