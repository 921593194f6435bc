/* Facilitator console: keyboard moderation of the queue. j/k (or arrows) move, a approves, r rejects, p pins,
 * h hides the focused item. Single-key shortcuts act only while the focus is on a contribution of the queue or the
 * moderated list (WCAG 2.1.4: a key typed anywhere else, the skip link included, does nothing), and the facilitator
 * can turn them off (remembered in this browser). After an action, focus moves to the next item once the push has
 * removed the handled one. Plain buttons do the same without the keyboard. */
(function () {
  "use strict";
  var nextFocusId = null;

  function items() { return Array.prototype.slice.call(document.querySelectorAll("#queue .queue-item")); }

  var STORE = "agora.console.shortcuts";
  var toggle = document.getElementById("console-shortcuts");

  function enabled() { return !toggle || toggle.checked; }

  if (toggle) {
    try { toggle.checked = window.localStorage.getItem(STORE) !== "off"; } catch (e) { /* private mode: on */ }
    var holder = toggle.closest("[hidden]");
    if (holder) holder.hidden = false;
    toggle.addEventListener("change", function () {
      try { window.localStorage.setItem(STORE, toggle.checked ? "on" : "off"); } catch (e) { /* not kept */ }
      document.getElementById("console").classList.toggle("shortcuts-off", !toggle.checked);
    });
    document.getElementById("console").classList.toggle("shortcuts-off", !toggle.checked);
  }

  // The contribution that has the focus (or holds the focused button), in the queue or the moderated list; null
  // anywhere else on the page.
  function current() {
    var active = document.activeElement;
    var item = active && active.closest ? active.closest("#queue .console-item, #handled .console-item") : null;
    return item || null;
  }

  function move(delta) {
    var list = items();
    if (!list.length) return;
    var index = list.indexOf(current());
    var target = list[Math.max(0, Math.min(list.length - 1, index + delta))];
    target.focus();
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey || !enabled()) return;
    if (!current()) return;
    var tag = (evt.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || evt.target.isContentEditable) return;
    var key = evt.key;
    if (key === "j" || key === "ArrowDown") { evt.preventDefault(); move(1); return; }
    if (key === "k" || key === "ArrowUp") { evt.preventDefault(); move(-1); return; }
    if (["a", "r", "p", "h"].indexOf(key) < 0) return;
    var item = current();
    if (!item) return;
    var button = item.querySelector('button[data-shortcut="' + key + '"]');
    if (!button) return;
    evt.preventDefault();
    button.click();
  });

  // An action on a contribution of the queue, by its shortcut or its button (Enter, Space, a click): the focus goes
  // to the next one once the push has taken it out of the queue.
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("button[data-shortcut]");
    var item = button && button.closest("#queue .queue-item");
    if (!item) return;
    var list = items(), i = list.indexOf(item);
    var next = list[i + 1] || list[i - 1];
    nextFocusId = next ? next.id : null;
  });

  document.addEventListener("live:updated", function () {
    if (!nextFocusId) return;
    var el = document.getElementById(nextFocusId);
    var active = document.activeElement;
    if (el && (!active || active === document.body || !document.body.contains(active))) {
      el.focus();
      nextFocusId = null;
    }
  });

  // A prepared poll appears through the push; empty the form for the next one.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (form && form.id === "poll-create-form" && evt.detail.successful) form.reset();
  });
})();
