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
})();
