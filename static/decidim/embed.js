// Inside a Decidim page's <iframe>: tell the parent page the content's height whenever it changes, so that it can
// size the iframe (snippet in docs/decidim.md). Only to the configured Decidim origins (data-parents).
(function () {
  "use strict";
  var script = document.currentScript;
  var parents = ((script && script.dataset.parents) || "").split(" ").filter(Boolean);
  var last = 0;
  function send() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height === last || window.parent === window) return;
    last = height;
    parents.forEach(function (origin) {
      window.parent.postMessage({type: "agora-live:height", height: height, path: location.pathname}, origin);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    new ResizeObserver(send).observe(document.body);
    send();
  });
  // <base target="_blank"> sends links out of the frame; links within the page stay in it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('a[href^="#"]');
    if (link) link.target = "_self";
  }, true);
})();
