/* The debate list: new debates arrive in the hidden #new-debates box (the same push for everyone); they are shown
 * at once on top of the list when its top is in view, otherwise behind a "N new debates" button, so that nothing
 * moves under the reader. Without this file the list is the one the page loaded (reload for news). */
(function () {
  "use strict";

  var list = document.getElementById("debate-list");
  var box = document.getElementById("new-debates");
  var button = document.getElementById("new-debates-button");
  if (!list || !box || !button) return;
  var pending = [];

  function place(item) {
    var existing = list.querySelector("#" + CSS.escape(item.id));
    if (existing && existing !== item) existing.remove();
    var empty = document.getElementById("debate-list-empty");
    if (empty) empty.remove();
    list.insertBefore(item, list.firstElementChild);
  }

  function topInView() {
    var top = list.getBoundingClientRect().top;
    return top >= 0 && top < window.innerHeight;
  }

  function updateButton() {
    if (!pending.length) { button.hidden = true; return; }
    button.textContent = pending.length === 1 ? button.getAttribute("data-msg-new-one")
      : button.getAttribute("data-msg-new-many").replace("%(count)s", pending.length);
    button.hidden = false;
  }

  function take() {
    Array.prototype.slice.call(box.children).forEach(function (item) {
      if (!item.matches || !item.matches("li.debate-item")) { item.remove(); return; }
      if (!pending.length && topInView()) {
        place(item);
      } else if (pending.indexOf(item.id) < 0) {
        pending.push(item.id);
      }
    });
    updateButton();
  }

  button.addEventListener("click", function () {
    var first = null;
    pending.forEach(function (id) {
      var item = box.querySelector("#" + CSS.escape(id));
      if (item) { place(item); first = item; }
    });
    pending = [];
    updateButton();
    if (first) {
      first.setAttribute("tabindex", "-1");
      first.focus();
    }
  });

  if (window.MutationObserver) new MutationObserver(take).observe(box, { childList: true });
})();
