/* The debate list: new debates arrive in the hidden #new-debates box (the same push for every page). On the first
 * page of every debate or of the open ones (data-on-top) they are shown at once on top of the list when its top is
 * in view, otherwise behind a "N new debates" button, so that nothing moves under the reader. On a page where they
 * may not belong (a search, the closed ones, a later page) a notice only counts them, with a link to the latest
 * debates. Without this file the list is the one the page loaded (reload for news). */
(function () {
  "use strict";

  var list = document.getElementById("debate-list");
  var box = document.getElementById("new-debates");
  var button = document.getElementById("new-debates-button");
  var notice = document.getElementById("new-debates-notice");
  if (!list || !box || !button || !notice) return;
  var onTop = list.hasAttribute("data-on-top");
  // The list is the region that follows the stream: a `reset` (live.js) puts a fresh copy in its place.
  function currentList() { return document.getElementById("debate-list") || list; }
  var pending = [];
  var opened = [];  // not on top: the new debates counted by the notice

  function plural(el, count) {
    return count === 1 ? el.getAttribute("data-msg-new-one")
      : el.getAttribute("data-msg-new-many").replace("%(count)s", count);
  }

  function updateNotice() {
    var link = notice.querySelector("a");
    link.textContent = plural(link, opened.length);
    notice.hidden = !opened.length;
  }

  function place(item) {
    var list = currentList();
    var existing = list.querySelector("#" + CSS.escape(item.id));
    if (existing && existing !== item) existing.remove();
    var empty = document.getElementById("debate-list-empty");
    if (empty) empty.remove();
    list.insertBefore(item, list.firstElementChild);
  }

  function topInView() {
    var top = currentList().getBoundingClientRect().top;
    return top >= 0 && top < window.innerHeight;
  }

  function updateButton() {
    if (!pending.length) { button.hidden = true; return; }
    button.textContent = plural(button, pending.length);
    button.hidden = false;
  }

  function take() {
    Array.prototype.slice.call(box.children).forEach(function (item) {
      if (!item.matches || !item.matches("li.debate-item")) { item.remove(); return; }
      if (!onTop) {
        if (opened.indexOf(item.id) < 0) opened.push(item.id);
        item.remove();
        updateNotice();
        return;
      }
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
