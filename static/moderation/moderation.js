/* Moderation queue: keep live-inserted rows in the page's order and let new ones slide in. */
(function () {
  "use strict";
  var list = document.getElementById("queue-open");
  if (!list) return;
  var seen = {};
  Array.prototype.forEach.call(list.querySelectorAll(".queue-row"), function (row) { seen[row.id] = true; });

  // The list is the region that follows the stream: a `reset` (live.js) puts a fresh copy in its place.
  function currentList() { return document.getElementById("queue-open") || list; }

  function key(row) {
    var list = currentList();
    var byCount = list.getAttribute("data-sort") === "most";
    var count = parseInt(row.getAttribute("data-count"), 10) || 0;
    var last = parseInt(row.getAttribute("data-last"), 10) || 0;
    return byCount ? [count, last] : [last, count];
  }

  function reorder() {
    var list = currentList();
    var kind = list.getAttribute("data-kind");
    var rows = Array.prototype.slice.call(list.querySelectorAll(":scope > .queue-row"));
    rows.forEach(function (row) {
      if (!seen[row.id]) {
        seen[row.id] = true;
        row.classList.add("slide-in");
      }
    });
    var sorted = rows.slice().sort(function (a, b) {
      var ka = key(a), kb = key(b);
      return (kb[0] - ka[0]) || (kb[1] - ka[1]);
    });
    // Rows are moved only when the order changed, and the focus is given back after the move (a moved element
    // loses it): a moderator typing a reason stays in the field when a report comes in.
    if (sorted.some(function (row, i) { return row !== rows[i]; })) {
      var active = document.activeElement;
      sorted.forEach(function (row) { list.appendChild(row); });
      if (active && active !== document.activeElement && document.body.contains(active)) active.focus();
    }
    if (kind) {
      rows.forEach(function (row) { row.hidden = row.getAttribute("data-kind") && row.getAttribute("data-kind") !== kind; });
    }
  }

  // A case that leaves the queue (handled here or by another moderator) while it holds the focus: the focus goes
  // to the next case (else the previous one, else the list), not to the page's start.
  var leaving = null;
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var row = evt.detail.target, active = document.activeElement;
    if (!row || !row.classList || !row.classList.contains("queue-row") || !active || !row.contains(active)) return;
    var next = row.nextElementSibling, previous = row.previousElementSibling;
    leaving = { id: row.id, next: next && next.id, previous: previous && previous.id };
  });
  function afterLeaving() {
    if (!leaving) return;
    var left = leaving;
    leaving = null;
    if (document.getElementById(left.id)) return;  // replaced, not gone: live.js keeps the focus in it
    var active = document.activeElement;
    if (active && active !== document.body && document.body.contains(active)) return;
    var to = (left.next && document.getElementById(left.next)) || (left.previous && document.getElementById(left.previous)) || list;
    if (!to.hasAttribute("tabindex")) to.setAttribute("tabindex", "-1");
    to.focus();
  }

  document.addEventListener("live:updated", function () {
    reorder();
    afterLeaving();
  });
})();
