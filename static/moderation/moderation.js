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
    // Moved only when out of order, and the focus put back: a row taken out of the page and put back loses the
    // focus of the field a moderator is typing in (every push would otherwise move every row).
    if (!sorted.every(function (row, i) { return row === rows[i]; })) {
      var active = document.activeElement;
      sorted.forEach(function (row) { list.appendChild(row); });
      if (active && active !== document.activeElement && list.contains(active)) active.focus();
    }
    if (kind) {
      rows.forEach(function (row) { row.hidden = row.getAttribute("data-kind") && row.getAttribute("data-kind") !== kind; });
    }
  }

  document.addEventListener("live:updated", reorder);
})();
