/* Debates: the few behaviours the server cannot push.
 *  - New root comments arrive in the hidden #new-comments box (the push is the same for everyone); here they are
 *    shown at once when that cannot move what the reader is reading (their own comment, or the end of an "oldest"
 *    thread), otherwise behind a "N new comments" button.
 *  - Forms sent over the socket or with htmx: reset and close after success (the push shows the result); a vote's
 *    pressed button.
 *  - A comment block replaced by a push keeps the reader's pressed vote, open reply form and draft.
 *  - A debate locked or closed while someone types a comment: the notice replaces the form, and the text typed stays
 *    under it, read-only, to copy (back in the form if the comments open again).
 *  - Presence heartbeats ("N people are reading") and "X is writing…" frames through the page's socket.
 * Without this file everything still works: plain forms and full page loads.
 */
(function () {
  "use strict";

  var root = document.querySelector(".debate[data-debate]");
  if (!root) return;
  var stream = root.getAttribute("data-live-stream");
  var me = root.getAttribute("data-user") || "";
  var sort = root.getAttribute("data-sort") || "best";
  var tab = root.getAttribute("data-tab") || "";
  // The box the pushes fill and its button are looked up when used: a `reset` (live.js) puts a fresh copy of the
  // debate's region, them included, in place of the elements this script found when the page loaded.
  var pendingBox = null, button = null;
  var pending = [];
  function current() {
    pendingBox = document.getElementById("new-comments");
    button = document.getElementById("new-comments-button");
  }
  current();

  function listFor(article) {
    var stance = article.getAttribute("data-stance");
    return document.querySelector('[data-stance-list="' + stance + '"]') || document.getElementById("comments");
  }

  function place(article) {
    var list = listFor(article);
    if (!list) return;
    var empty = list.querySelector(".empty-thread");
    if (empty) empty.remove();
    var existing = document.getElementById(article.id);
    if (existing && existing !== article) existing.remove();
    if (sort === "oldest") {
      var more = list.querySelector(":scope > .load-more");
      list.insertBefore(article, more);
    } else {
      list.insertBefore(article, list.querySelector(":scope > article.comment"));
    }
  }

  function isMine(article) {
    var main = article.querySelector(".comment-main");
    return me && main && main.getAttribute("data-author") === me;
  }

  // Where a new root goes is unambiguous in "oldest" (the end, once every page is loaded) and "recent" (the top)
  // orders; it is shown at once there when that does not move what the reader is looking at: the end of the list,
  // or its top while the top is in view. Elsewhere (best rated, most discussed) it waits behind the button.
  function fitsWithoutMoving(article) {
    var list = listFor(article);
    if (!list) return false;
    if (sort === "oldest") return !list.querySelector(":scope > .load-more");
    if (sort === "recent") {
      var top = list.getBoundingClientRect().top;
      return top >= 0 && top < window.innerHeight;
    }
    return false;
  }

  function updateButton() {
    if (!button) return;
    if (!pending.length) { button.hidden = true; return; }
    var text = pending.length === 1 ? root.getAttribute("data-msg-new-one")
      : root.getAttribute("data-msg-new-many").replace("%(count)s", pending.length);
    button.textContent = text;
    button.hidden = false;
  }

  function takeNewComments() {
    current();
    if (!pendingBox) return;
    // Waiting only while still in the box (a reset's fresh page may show them already, a removal takes them out).
    pending = pending.filter(function (id) { return pendingBox.querySelector("#" + CSS.escape(id)); });
    var articles = Array.prototype.slice.call(pendingBox.children);
    articles.forEach(function (article) {
      if (!article.matches || !article.matches("article.comment")) { article.remove(); return; }
      if (isMine(article) || fitsWithoutMoving(article)) {
        place(article);
      } else if (pending.indexOf(article.id) < 0) {
        pending.push(article.id);
      }
    });
    updateButton();
  }

  document.addEventListener("click", function (evt) {
    if (!evt.target.closest || !evt.target.closest("#new-comments-button")) return;
    current();
    var first = null;
    pending.slice().reverse().forEach(function (id) {
      var article = pendingBox && pendingBox.querySelector("#" + CSS.escape(id));
      if (article) { place(article); first = article; }
    });
    pending = [];
    updateButton();
    if (first) {
      first.setAttribute("tabindex", "-1");
      first.focus();
    }
  });

  if (pendingBox && window.MutationObserver) {
    new MutationObserver(takeNewComments).observe(pendingBox, { childList: true });
  }
  // After each push too: the box observed above is no longer the page's once a reset replaced it.
  document.addEventListener("live:updated", takeNewComments);

  // --- forms (over the page's socket, or htmx) -------------------------------------------------------------------
  // A comment form carries a client id: a post retried after a network error (or sent again over HTTP when the
  // socket did not answer) is recognized and not doubled. A form that came through a push has none yet: it gets one
  // as it is sent, whichever way it goes (on the window, captured: before htmx's and live.js's listeners read the
  // form); each success gets a fresh one for the next comment.
  window.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form || !form.classList || !form.classList.contains("comment-form")) return;
    var input = form.querySelector('input[name="client_id"]');
    if (input && !input.value) input.value = window.Live.freshKey();
  }, true);

  // A comment, reply or edit went through (htmx's 204, or the socket's `written`): the push shows it; the form is
  // emptied, or its panel closed, unless the person has typed the next one meanwhile (`keep`: live.js left it).
  function commentWritten(form, keep) {
    var input = form.querySelector('input[name="client_id"]');
    if (input) input.value = window.Live.freshKey();
    var errors = document.getElementById(form.id + "-errors");
    if (errors) errors.textContent = "";
    if (keep) return;
    var panel = form.closest(".comment-panel");
    if (panel) { closePanel(panel); return; }
    form.reset();
  }
  // Over HTTP as over the socket: what the person typed while the post was on its way stays in the form.
  function bodyOf(form) {
    var field = form.querySelector("textarea");
    return field ? field.value : "";
  }
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = evt.detail.elt;
    if (form && form.classList && form.classList.contains("comment-form")) form.sentBody = bodyOf(form);
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (!form || !form.classList || !form.classList.contains("comment-form")) return;
    if (evt.detail.successful && evt.detail.xhr.status === 204) {
      commentWritten(form, form.sentBody !== undefined && bodyOf(form) !== form.sentBody);
    }
  });

  // A vote went over the socket: the score comes with the push, like everyone's; the pressed button is the voter's
  // alone (htmx's answer is the form with it; the socket's is `my_vote`).
  function showMyVote(form, mine) {
    form.querySelectorAll(".vote-button").forEach(function (b) {
      var value = b.getAttribute("data-vote") === "up" ? 1 : -1;
      var pressed = mine === value;
      b.setAttribute("aria-pressed", pressed ? "true" : "false");
      b.value = pressed ? "none" : b.getAttribute("data-vote");
    });
  }
  document.addEventListener("live:written", function (evt) {
    var form = evt.target;
    if (!form || !form.classList) return;
    var result = (evt.detail && evt.detail.result) || {};
    if (form.classList.contains("comment-form")) commentWritten(form, evt.detail && evt.detail.emptied === false);
    else if (form.classList.contains("vote-form") && typeof result.my_vote === "number") showMyVote(form, result.my_vote);
  });

  // Reply, edit and report forms open in the comment's panel; "Cancel" (or success) empties it and gives the focus
  // back to the comment's actions.
  function closePanel(panel) {
    panel.innerHTML = "";
    var article = panel.closest("article.comment");
    var link = article && article.querySelector(".comment-actions .action-link");
    if (link) link.focus();
  }
  document.addEventListener("click", function (evt) {
    var close = evt.target.closest && evt.target.closest(".panel-close");
    if (close) {
      var panel = close.closest(".comment-panel");
      if (panel) { evt.preventDefault(); closePanel(panel); }
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    var panel = evt.detail.target;
    if (!panel || !panel.classList || !panel.classList.contains("comment-panel")) return;
    var disclosure = panel.querySelector("details");
    if (disclosure) disclosure.open = true;
    var field = panel.querySelector("textarea, input[type=radio]");
    if (field) field.focus();
  });

  // --- keep the reader's state when a comment block is replaced ----------------------------------------------------
  var kept = {};
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || !/^comment-\d+-main$/.test(target.id || "")) return;
    var state = { votes: {}, open: [], drafts: {} };
    target.querySelectorAll(".vote-button").forEach(function (b) {
      state.votes[b.getAttribute("data-vote")] = [b.getAttribute("aria-pressed"), b.value];
    });
    target.querySelectorAll("details[open]").forEach(function (d) { state.open.push(d.className); });
    target.querySelectorAll("textarea").forEach(function (t) {
      if (t.id && t.value && t.value !== t.defaultValue) state.drafts[t.id] = t.value;
    });
    var active = document.activeElement;
    if (active && target.contains(active)) {
      state.focused = active.id || "";
      state.focusedLike = window.Live.likeness(active);
    }
    kept[target.id] = state;
  });
  // The focus was in the replaced block: it stays on that comment. On the same control when the new block has it,
  // else on the comment's author line or its placeholder ("deleted", "hidden": what it now is, read out), never
  // sent back to the page's start.
  function keepFocus(fresh, state) {
    var el = state.focused && document.getElementById(state.focused);
    if (!el) {
      var controls = fresh.querySelectorAll("a[href], button, input, select, textarea, summary");
      for (var i = 0; i < controls.length && !el; i++) {
        if (window.Live.likeness(controls[i]) === state.focusedLike && controls[i].getClientRects().length) el = controls[i];
      }
    }
    if (!el) {
      el = fresh.querySelector('[id$="-by"]') || fresh;
      if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
    }
    el.focus();
  }
  document.addEventListener("htmx:oobAfterSwap", function () {
    Object.keys(kept).forEach(function (id) {
      var state = kept[id], fresh = document.getElementById(id);
      delete kept[id];
      if (!fresh) return;
      fresh.querySelectorAll(".vote-button").forEach(function (b) {
        var old = state.votes[b.getAttribute("data-vote")];
        if (old) { b.setAttribute("aria-pressed", old[0]); b.value = old[1]; }
      });
      fresh.querySelectorAll("details").forEach(function (d) {
        if (state.open.indexOf(d.className) >= 0) d.open = true;
      });
      Object.keys(state.drafts).forEach(function (tid) {
        var t = document.getElementById(tid);
        if (t) t.value = state.drafts[tid];
      });
      if (state.focusedLike) keepFocus(fresh, state);
    });
  });

  // --- the draft of a comment when the debate stops taking comments --------------------------------------------------
  // Locking or closing pushes the notice in place of the comment form (the same bytes for everyone): what the person
  // had typed would go with the form. It stays under the notice in a read-only textarea (it can be selected, copied,
  // read; it has no name, so it is never sent), labelled and announced by data-msg-draft, and the focus that was in
  // the form goes to it. When the comments open again, the text goes back into the form.
  var draft = null;
  function draftIn(region) {
    var field = region.querySelector("#comment-body");
    if (field && field.value.trim() && field.value !== field.defaultValue) return field.value;
    var kept = region.querySelector("#comment-draft");
    return kept ? kept.value : "";
  }
  function keepDraft(target) {
    var text = draftIn(target);
    draft = text ? { text: text, focused: target.contains(document.activeElement) } : null;
  }
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.id === "comment-form-region") keepDraft(target);
  });
  // The same when a reset reloads the debate's region (live.js), which holds the form's region: the fresh one may
  // come with the notice (locked meanwhile), and a draft kept under the notice is not in it.
  document.addEventListener("live:resetting", function (evt) {
    var target = evt.target && evt.target.querySelector && evt.target.querySelector("#comment-form-region");
    if (target) keepDraft(target);
  });
  document.addEventListener("live:reset", restoreDraft);
  document.addEventListener("htmx:oobAfterSwap", restoreDraft);
  function restoreDraft() {
    if (!draft) return;
    var kept = draft, region = document.getElementById("comment-form-region");
    draft = null;
    if (!region) return;
    var field = region.querySelector("#comment-body");
    if (field) {  // open again: the form is back
      if (!field.value) field.value = kept.text;
      if (kept.focused) field.focus();
      return;
    }
    if (region.querySelector("#comment-draft")) return;
    var label = (document.querySelector(".debate[data-debate]") || root).getAttribute("data-msg-draft") || "";
    var box = document.createElement("div");
    box.className = "kept-draft stack card";
    var caption = document.createElement("label");
    caption.htmlFor = "comment-draft";
    caption.textContent = label;
    var copy = document.createElement("textarea");
    copy.id = "comment-draft";
    copy.readOnly = true;
    copy.rows = 4;
    copy.value = kept.text;
    box.appendChild(caption);
    box.appendChild(copy);
    region.appendChild(box);  // after the notice: read in that order
    if (kept.focused) copy.focus();
    // After the push's own announcement (the notice's words), which this same swap is about to queue.
    if (label && window.Live && window.Live.announce) setTimeout(function () { window.Live.announce(label); }, 0);
  }

  // "Load more" and "Show N more replies": keep the keyboard where the reader was, on the first comment that
  // appeared; drop roots the page already shows (new comments may have shifted the pages meanwhile).
  var loading = null;
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || !target.classList) return;
    if (target.classList.contains("load-more")) {
      loading = { list: target.parentElement, before: target.previousElementSibling };
    } else if (target.classList.contains("replies")) {
      loading = { replies: target, count: target.children.length };
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    var seen = {};
    document.querySelectorAll("article.comment[id]").forEach(function (a) {
      if (seen[a.id]) a.remove(); else seen[a.id] = true;
    });
    if (!loading) return;
    var first = null;
    if (loading.replies) {
      first = loading.replies.children[loading.count] || null;
    } else if (loading.list) {
      first = loading.before ? loading.before.nextElementSibling : loading.list.firstElementChild;
    }
    loading = null;
    if (first && first.matches("article.comment")) {
      first.setAttribute("tabindex", "-1");
      first.focus();
    }
  });

  // --- presence and typing ---------------------------------------------------------------------------------------
  // The server takes one "is writing…" frame per stream every 2 s and silently drops the others: space them,
  // keeping only the latest waiting frame (3 s rather than 2: the server's clock starts when it handles a frame,
  // which can be later than we sent it). Presence heartbeats have a throttle of their own there and go at once.
  var SPACING = 3000;
  var lastSent = 0, waiting = null, waitTimer = null;
  function sendFrame(extra) {
    if (!window.agoraLive || !stream) return;
    var gap = Date.now() - lastSent;
    if (gap >= SPACING) {
      lastSent = Date.now();
      window.agoraLive.typing(stream, extra);
      return;
    }
    waiting = extra;
    if (!waitTimer) {
      waitTimer = setTimeout(function () {
        waitTimer = null;
        var next = waiting;
        waiting = null;
        if (next) sendFrame(next);
      }, SPACING - gap);
    }
  }

  var heartbeat = null;
  function beat(leaving) {
    var extra = { presence: tab };
    if (leaving) extra.leaving = true;
    if (window.agoraLive && stream) window.agoraLive.typing(stream, extra);  // every 20 s, and last words
  }
  document.addEventListener("htmx:wsOpen", function () {
    // live.js has just sent its resume (its listener runs first); the server handles frames in order.
    setTimeout(function () { beat(false); }, 0);
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = setInterval(function () { beat(false); }, 20000);
  });
  window.addEventListener("pagehide", function () { beat(true); });

  var lastTyping = {};
  document.addEventListener("input", function (evt) {
    var form = evt.target.closest && evt.target.closest("form.reply-form");
    if (!form || !window.agoraLive) return;
    var parent = form.getAttribute("data-parent");
    var now = Date.now();
    if (now - (lastTyping[parent] || 0) < 3000) return;
    lastTyping[parent] = now;
    sendFrame({ comment: parseInt(parent, 10) });
  });

  // An indicator fades 6 s after its last refresh.
  var typingTimers = {};
  document.addEventListener("live:updated", function () {
    document.querySelectorAll(".typing-indicator[data-typing-at]").forEach(function (el) {
      if (el.getAttribute("data-seen")) return;
      el.setAttribute("data-seen", "1");
      clearTimeout(typingTimers[el.id]);
      typingTimers[el.id] = setTimeout(function () {
        var current = document.getElementById(el.id);
        if (current) { current.innerHTML = ""; current.removeAttribute("data-typing-at"); }
      }, 6000);
    });
  });
})();
