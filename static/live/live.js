/* Agora Live: the few lines that make a server-rendered page live.
 *
 * The page is complete without this file. With it, htmx's `ws` extension (served by django-htmx) keeps one socket
 * open per page at /ws/ and reconnects with full-jitter backoff; this file adds the resume protocol on top:
 *  - every region that follows a stream carries data-live-stream="debate.42" data-live-cursor="<epoch>:<seq>";
 *  - on every (re)connect we send {type: "resume", streams: {key: {epoch, seq}}}: the server replays what we
 *    missed, in order, then goes live;
 *  - each event frame carries its stream and seq: older ones are dropped (duplicates), a hole asks for a replay,
 *    a `reset` reloads the region from the server.
 * Frames are JSON; the HTML they carry goes through htmx's out-of-band swap by element id, so applying one twice is
 * harmless. Protocol: docs/realtime.md.
 *
 * Writes: a <form data-live-write="<app>.<verb>"> is sent as a `write` frame while the socket is open and its
 * streams answered; otherwise (and without JavaScript) it posts over HTTP as it always did. `window.Live.write`
 * does the same for writes without a form.
 */
(function () {
  "use strict";

  var state = {};          // stream key -> {epoch, seq}
  var pendingHtml = null;  // the HTML of the frame being processed, handed to transformResponse
  var socket = null;       // htmx's socket wrapper
  var everOpened = false;
  var ready = false;       // the socket is open and has answered a resume: writes may go over it

  function parseCursor(text) {
    var parts = String(text || ":0").split(":");
    return { epoch: parts[0] || "", seq: parseInt(parts[1], 10) || 0 };
  }

  function readCursors(root) {
    var regions = (root || document).querySelectorAll("[data-live-stream]");
    for (var i = 0; i < regions.length; i++) {
      var key = regions[i].getAttribute("data-live-stream");
      var cursor = parseCursor(regions[i].getAttribute("data-live-cursor"));
      var known = state[key];
      if (!known || known.epoch !== cursor.epoch || known.seq < cursor.seq) {
        state[key] = cursor;
      }
    }
  }

  function send(payload) {
    if (socket) socket.send(JSON.stringify(payload));
  }

  function resume(keys) {
    var streams = {};
    (keys || Object.keys(state)).forEach(function (key) {
      if (state[key]) streams[key] = { epoch: state[key].epoch, seq: state[key].seq };
    });
    if (Object.keys(streams).length) send({ type: "resume", streams: streams });
  }

  var shownStatus = null, restoredTimer = null;
  function setStatus(kind) {
    var box = document.getElementById("live-status");
    if (!box) return;
    clearTimeout(restoredTimer);
    // Back after "reconnecting": said (the banner going away is not), then emptied a few seconds later.
    if (!kind && shownStatus === "reconnecting" && box.getAttribute("data-msg-restored")) {
      kind = "restored";
      restoredTimer = setTimeout(function () { setStatus(null); }, 4000);
    }
    shownStatus = kind;
    var text = kind ? box.getAttribute("data-msg-" + kind) || "" : "";
    box.textContent = text;  // the region stays in the page, empty and unseen when all is well (live.css)
    document.documentElement.setAttribute("data-live", kind && kind !== "restored" ? kind : "connected");
  }

  // A reset means our position cannot be replayed: fetch the page again and swap in the regions of that stream,
  // with their fresh cursors. Without a region to swap, reload the whole page.
  function reloadRegions(key, epoch, seq) {
    var regions = document.querySelectorAll('[data-live-stream="' + key + '"]');
    var withIds = Array.prototype.filter.call(regions, function (el) { return el.id; });
    if (!withIds.length) { window.location.reload(); return; }
    state[key] = { epoch: epoch, seq: seq };
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live-Reset": key } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        withIds.forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (!fresh) return;
          var imported = document.importNode(fresh, true);
          // As for a push that replaces a part of the page: what the person was typing there, and the focus, stay.
          var active = document.activeElement;
          var focused = active && active !== document.body && el.contains(active) ?
            { id: active.id, index: focusables(el).indexOf(active) } : null;
          keepOpened(el, imported);
          keepWhatWasBeingDone(el, imported);
          // A feature script keeps what has no twin in the fresh region (debates.js: a draft under a lock notice).
          el.dispatchEvent(new CustomEvent("live:resetting", { bubbles: true }));
          el.replaceWith(imported);
          if (window.htmx) window.htmx.process(imported);
          if (focused) {
            var again = (focused.id && imported.querySelector("#" + CSS.escape(focused.id))) ||
                        focusables(imported)[focused.index];
            if (again) again.focus();
          }
          imported.dispatchEvent(new CustomEvent("live:reset", { bubbles: true }));
        });
        state[key] = null;
        delete state[key];
        readCursors(document);
        resume([key]);
      })
      .catch(function () { window.location.reload(); });
  }

  // A part the person opened in the page (a reply form loaded under a comment) is not in the page fetched again:
  // its container comes empty. While the person uses it (the focus, or something typed or chosen), it is moved as it
  // is into the fresh container.
  function inUse(el) {
    if (el.contains(document.activeElement)) return true;
    return Array.prototype.some.call(el.querySelectorAll("input, textarea, select"), function (field) {
      if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
      return field.type !== "hidden" && field.tagName !== "SELECT" && field.value !== field.defaultValue;
    });
  }
  function keepOpened(old, fresh) {
    Array.prototype.forEach.call(old.querySelectorAll("[id]"), function (el) {
      if (!el.children.length || !old.contains(el)) return;  // (moved already, with a container above it)
      var twin = fresh.querySelector("#" + CSS.escape(el.id));
      if (!twin || twin === el || twin.children.length || twin.textContent.trim() || !inUse(el)) return;
      while (el.firstChild) twin.appendChild(el.firstChild);
    });
  }

  document.addEventListener("htmx:wsConnecting", function () {
    setStatus(everOpened ? "reconnecting" : "connecting");
  });

  document.addEventListener("htmx:wsOpen", function (evt) {
    socket = evt.detail.socketWrapper;
    everOpened = true;
    setStatus(null);
    readCursors(document);
    ready = !Object.keys(state).length;  // else at the first `subscribed`
    resume();
  });

  // The server's close codes (live/close_codes.py, docs/realtime.md): those it asks us to retry, and how. Any other
  // 4xxx is a permanent refusal (signed out, blocked, a bad client): reconnecting would only loop.
  var RETRY = { 4012: "at once", 4429: "after a long pause", 4503: "with backoff" };
  var retries = 0;         // reconnections asked by the server since the last stream went live

  function retryDelay(how, count) {
    if (how === "at once") return Math.random() * 1000;
    var max = how === "after a long pause" ? Math.min(120000, 15000 * Math.pow(2, count - 1))
                                           : Math.min(10000, 500 * Math.pow(2, count));
    return max / 2 + Math.random() * max / 2;
  }

  document.addEventListener("htmx:wsClose", function (evt) {
    var code = evt.detail.event && evt.detail.event.code;
    var wrapper = evt.detail.socketWrapper;
    socket = null;
    ready = false;
    unanswered();
    if (RETRY[code] && wrapper) {
      // htmx's ws extension only retries 1006/1011/1012/1013 by itself.
      retries += 1;
      setStatus("reconnecting");
      setTimeout(function () { wrapper.reconnect(); }, retryDelay(RETRY[code], retries));
    } else if (code >= 4000 && code < 5000) {
      setStatus("ended");          // a permanent refusal: no reconnection
    } else {
      setStatus("reconnecting");   // the ws extension retries with backoff and jitter
    }
  });

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var frame;
    pendingHtml = null;
    try { frame = JSON.parse(evt.detail.message); } catch (e) { evt.preventDefault(); return; }
    var key = frame.stream;
    switch (frame.type) {
      case "event": {
        var known = state[key];
        if (!known || frame.seq <= known.seq) { evt.preventDefault(); return; }      // not ours, or a duplicate
        if (frame.seq > known.seq + 1) { evt.preventDefault(); resume([key]); return; } // a hole: replay it
        known.seq = frame.seq;
        if (frame.epoch) known.epoch = frame.epoch;
        if (!frame.html) { evt.preventDefault(); return; }
        pendingHtml = frame.html;
        return;
      }
      case "ephemeral":
        if (!frame.html) { evt.preventDefault(); return; }
        pendingHtml = frame.html;
        return;
      case "reset":
        evt.preventDefault();
        reloadRegions(key, frame.epoch, frame.seq);
        return;
      case "error":
        evt.preventDefault();
        if (key && (frame.code === "forbidden" || frame.code === "not_found" || frame.code === "not_signed_in")) {
          delete state[key];
        }
        if (window.console) console.warn("live:", frame.code, frame.detail || "");
        return;
      case "subscribed":
        retries = 0;
        ready = true;
        evt.preventDefault();
        return;
      case "written":
      case "refused":
        evt.preventDefault();
        answered(frame);
        return;
      default:  // pong
        evt.preventDefault();
    }
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    pendingHtml = null;
    document.dispatchEvent(new CustomEvent("live:updated"));
  });

  // New regions (a page part loaded by htmx) may follow streams the socket does not follow yet.
  document.addEventListener("htmx:afterSettle", function (evt) {
    var before = Object.keys(state).length;
    readCursors(evt.target);
    if (Object.keys(state).length !== before) resume();
  });

  // A refused write (live/actions.py) answers 400, 403 or 429 with its message retargeted to the form's error slot:
  // htmx swaps only 2xx answers unless told, and the request still counts as failed (forms keep what was typed).
  function isRefusal(xhr) {
    return xhr && xhr.status >= 400 && xhr.status < 500 && !!xhr.getResponseHeader("HX-Retarget");
  }
  document.addEventListener("htmx:beforeSwap", function (evt) {
    if (isRefusal(evt.detail.xhr)) evt.detail.shouldSwap = true;
  });
  // In development (DEBUG) django-htmx's script replaces the whole page with any 400/403 answer, to show Django's
  // error pages; a refusal is an expected answer, so it never reaches that script (captured before the document).
  window.addEventListener("htmx:beforeOnLoad", function (evt) {
    if (isRefusal(evt.detail.xhr)) evt.stopPropagation();
  }, true);

  // Form errors, said the same way for every form: the fields a refusal names (the server's data-refusal-fields, a
  // socket refusal's `fields`) are invalid while it shows, else, for a refusal of the form's input that names none,
  // the fields its error slot describes (aria-describedby); the focus goes to the first of them (it reads its error
  // with it), and the page's title starts with "Error" until the form goes through.
  var baseTitle = document.title;
  function markTitle(hasError) {
    var prefix = document.body.getAttribute("data-msg-error-title") || "";
    document.title = hasError && prefix ? prefix + " " + baseTitle : baseTitle;
  }
  function fieldsNamed(form, names) {
    if (!form || !names.length) return [];
    return Array.prototype.filter.call(form.elements, function (field) {
      return field.type !== "hidden" && names.indexOf(field.name) >= 0;
    });
  }
  // What follows a refusal shown in its slot, the same for an htmx 4xx answer and a socket's `refused`.
  function refusalShown(slot, form) {
    if (!slot || !slot.id) return;
    var refusal = slot.querySelector("[data-refusal]");
    var describing = Array.prototype.slice.call(document.querySelectorAll('[aria-describedby~="' + slot.id + '"]'));
    var invalid = refusal && refusal.getAttribute("data-refusal") === "invalid";
    var names = invalid ? (refusal.getAttribute("data-refusal-fields") || "").split(" ").filter(Boolean) : [];
    var named = fieldsNamed(form || slot.closest("form") || (describing[0] && describing[0].form), names);
    var marked = !invalid ? [] : named.length ? named : describing;
    describing.concat(named).forEach(function (field) {
      if (marked.indexOf(field) >= 0) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    });
    if (!refusal) return;
    markTitle(true);
    var first = marked[0];
    if (first && document.activeElement !== first) first.focus();
  }
  document.addEventListener("htmx:afterSwap", function (evt) {
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    refusalShown(evt.detail.target, elt && elt.closest ? elt.closest("form") : null);
  });
  // A form that went through: its fields are valid again, the title loses its "Error".
  function formAccepted(form) {
    var invalid = form.querySelectorAll("[aria-invalid]");
    for (var i = 0; i < invalid.length; i++) invalid[i].removeAttribute("aria-invalid");
    markTitle(false);
  }
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (!evt.detail.successful || !form || !form.querySelectorAll) return;
    if (sentToSignIn(evt)) return;
    formAccepted(form);
  });
  // A post whose session had ended is redirected to the sign-in page, which the browser follows: a 200 that htmx
  // takes for a success and shows nowhere (most forms swap nothing). Said in the form instead; the text stays.
  function sentToSignIn(evt) {
    var xhr = evt.detail.xhr, login = document.body.getAttribute("data-login-url");
    var verb = evt.detail.requestConfig && evt.detail.requestConfig.verb;
    if (!xhr || !login || !verb || verb === "get" || !xhr.responseURL) return false;
    var path;
    try { path = new URL(xhr.responseURL).pathname; } catch (e) { return false; }
    if (path !== login || evt.detail.pathInfo && evt.detail.pathInfo.requestPath === login) return false;
    showRefusal(evt.detail.elt.closest("form") || evt.detail.elt,
                { kind: "forbidden", message: document.body.getAttribute("data-msg-signed-out") || "" });
    return true;
  }
  // A form page served again with its errors (no htmx: the server marked the fields): the focus goes to the first
  // invalid field, else to the error summary. A plain form refused and sent back to its page (live/actions.py:
  // the reason flashed in #flash, above <main>): the title says "Error" and the focus goes to the reason.
  document.addEventListener("DOMContentLoaded", function () {
    var flashed = document.querySelector("#flash .flash-error");
    if (flashed) markTitle(true);
    var first = document.querySelector('main [aria-invalid="true"]') || document.querySelector("main [role=alert], main .flash-error") || flashed;
    if (!first) return;
    if (!first.matches("input, select, textarea, button, [tabindex]")) first.setAttribute("tabindex", "-1");
    first.focus();
  });

  // A swap that replaces the focused control (a vote form answered with its new state, a part of the page pushed
  // anew) gives the focus back to the same control in the new content: the keyboard user stays where they were.
  var refocus = null;
  function focusables(root) {
    // (Not hidden inputs: a page's forms carry a CSRF field that a push's do not, which would shift the count.)
    return Array.prototype.slice.call(root.querySelectorAll(
      "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]"));
  }
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target, active = document.activeElement;
    refocus = null;
    if (!target || !target.id || !active || active === document.body || !target.contains(active)) return;
    refocus = { target: target.id, id: active.id, index: focusables(target).indexOf(active) };
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!refocus) return;
    var wanted = refocus;
    refocus = null;
    var active = document.activeElement;
    if (active && active !== document.body && document.body.contains(active)) return;  // still focused somewhere
    var root = document.getElementById(wanted.target);
    var el = (wanted.id && document.getElementById(wanted.id)) || (root && focusables(root)[wanted.index]) || root;
    if (el) el.focus();
  });

  // The same for a push: a part of the page replaced by id (hx-swap-oob) keeps what the person was doing in it:
  // what they typed or chose (unless the push changed that very field: its default differs), and the disclosures
  // they opened. Someone voting for the contribution a participant is
  // reporting, another report on the case a moderator is writing a reason for, answers coming in while a
  // facilitator picks two words to merge: none of them wipes the form in use.
  function twinOf(fresh, old, field) {
    if (field.id) return fresh.querySelector("#" + CSS.escape(field.id));
    if (!field.name) return null;
    var selector = '[name="' + CSS.escape(field.name) + '"]';
    if (field.type === "radio" || field.type === "checkbox") selector += '[value="' + CSS.escape(field.value) + '"]';
    var index = Array.prototype.indexOf.call(old.querySelectorAll(selector), field);
    return fresh.querySelectorAll(selector)[index] || null;
  }
  function defaultOption(select) {
    for (var i = 0; i < select.options.length; i++) if (select.options[i].defaultSelected) return select.options[i].value;
    return select.options.length ? select.options[0].value : "";
  }
  function keepWhatWasBeingDone(old, fresh) {
    var opened = old.querySelectorAll("details"), details = fresh.querySelectorAll("details");
    for (var i = 0; i < opened.length && i < details.length; i++) if (opened[i].open) details[i].open = true;
    Array.prototype.forEach.call(old.querySelectorAll("input, textarea, select"), function (field) {
      if (field.type === "hidden") return;
      var twin = twinOf(fresh, old, field);
      if (!twin || twin.tagName !== field.tagName) return;
      if (field.type === "radio" || field.type === "checkbox") {
        if (field.checked !== field.defaultChecked && twin.defaultChecked === field.defaultChecked) {
          twin.checked = field.checked;
        }
      } else if (field.tagName === "SELECT") {
        if (!field.multiple && field.value !== defaultOption(field) &&
            Array.prototype.some.call(twin.options, function (o) { return o.value === field.value; })) {
          twin.value = field.value;
        }
      } else if (field.value !== field.defaultValue && twin.defaultValue === field.defaultValue) {
        twin.value = field.value;
      }
    });
  }
  // And the part that held the focus (a contribution's +1 answered by the contribution pushed anew, a console item
  // after a shortcut) gives it to the same control in the new part (its id, else the same tag, classes and address
  // or text, else the one at the same place), else to the part itself: never back to the page's start. Only for a
  // push that replaces an element by its id; an insertion or deletion is left.
  var pushedFocus = null;
  function likeness(el) {
    return el.tagName + "|" + el.className + "|" + (el.getAttribute("href") || (el.textContent || "").trim());
  }
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target, fresh = evt.detail.fragment && evt.detail.fragment.firstElementChild;
    if (!target || !target.id) return;
    if (fresh && fresh.id === target.id) keepWhatWasBeingDone(target, fresh);
    var active = document.activeElement;
    if (!active || active === document.body || !target.contains(active)) return;
    pushedFocus = { target: target.id, id: active.id, like: likeness(active),
                    index: focusables(target).indexOf(active) };
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!pushedFocus) return;
    var wanted = pushedFocus;
    pushedFocus = null;
    var active = document.activeElement;
    if (active && active !== document.body && document.body.contains(active)) return;  // still focused somewhere
    var root = document.getElementById(wanted.target);
    if (!root) return;
    var el = wanted.id ? document.getElementById(wanted.id) : null;
    var candidates = focusables(root);
    for (var i = 0; i < candidates.length && !el; i++) {
      if (likeness(candidates[i]) === wanted.like && candidates[i].getClientRects().length) el = candidates[i];
    }
    var placed = wanted.index >= 0 ? candidates[wanted.index] : null;
    if (!el && placed && placed.getClientRects().length) el = placed;
    if (!el) {
      el = root;
      if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
    }
    el.focus();
  });

  // The announcer (base.html) is one persistent polite, atomic region: pushes and refusals update it and never put a
  // new element in its place (a region put in anew is not always announced). A screen reader says its whole content
  // at each change, so it holds one announcement at a time, said on its own: one arriving less than ANNOUNCE_GAP ms
  // after the last (a private message, then its notification) waits its turn in a queue, instead of being added to
  // it (the first said again, both as one sentence) or replacing it (the first cut off). A text already shown
  // within the gap or already waiting is not queued twice (the htmx answer and the push of one action); a burst
  // (a replay after a reconnection) keeps only the newest few. An announcement keeps its markup (lang="fr" on a
  // French notification on an English page).
  var ANNOUNCE_GAP = 1000, ANNOUNCE_WAITING = 4;
  var announcer = { queue: [], text: "", at: -Infinity, timer: null };
  function announce(content) {  // a text (a socket's refusal), or the nodes of an out-of-band announcer
    var nodes = typeof content === "string" ? [document.createTextNode(content)] : Array.prototype.slice.call(content);
    var text = nodes.map(function (node) { return node.textContent; }).join("").replace(/\s+/g, " ").trim();
    if (!text) return;
    if (text === announcer.text && Date.now() - announcer.at < ANNOUNCE_GAP) return;
    if (announcer.queue.some(function (item) { return item.text === text; })) return;
    announcer.queue.push({ text: text, nodes: nodes });
    if (announcer.queue.length > ANNOUNCE_WAITING) announcer.queue.shift();
    sayNext();
  }
  function sayNext() {
    if (announcer.timer || !announcer.queue.length) return;
    var wait = announcer.at + ANNOUNCE_GAP - Date.now();
    if (wait > 0) {
      announcer.timer = setTimeout(function () { announcer.timer = null; sayNext(); }, wait);
      return;
    }
    var item = announcer.queue.shift(), region = document.getElementById("live-announcer");
    if (!region) return;
    region.replaceChildren.apply(region, item.nodes);
    announcer.text = item.text;
    announcer.at = Date.now();
    sayNext();
  }
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var region = evt.detail.target, fragment = evt.detail.fragment;
    if (!region || region.id !== "live-announcer" || !fragment) return;
    evt.detail.shouldSwap = false;  // said through the queue
    // innerHTML: the announcer's copy itself; true/outerHTML: a fragment holding it.
    var copy = fragment.id === "live-announcer" ? fragment : fragment.querySelector("#live-announcer") || fragment;
    announce(copy.childNodes);
  });

  // A bounded list (data-live-bound="N", the meeting screen's feed) keeps its first N items after an insertion: a
  // push inserts the item that arrives, the list drops the oldest, and the page stays the same size.
  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var list = evt.detail.target;
    var bound = list && list.getAttribute && parseInt(list.getAttribute("data-live-bound"), 10);
    if (!bound) return;
    while (list.children.length > bound) list.removeChild(list.lastElementChild);
  });

  // Insertions (hx-swap-oob="beforeend:#list" ...) must stay idempotent: an element whose id is already on the page
  // is replaced in place instead of being inserted a second time (a replay may overlap what the page rendered).
  function oobTarget(el) {
    var how = el.getAttribute("hx-swap-oob") || "true";
    var colon = how.indexOf(":");
    if (colon >= 0) {
      try { return document.querySelector(how.slice(colon + 1)); } catch (e) { return null; }
    }
    return el.id ? document.getElementById(el.id) : null;
  }

  function makeIdempotent(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    // One rendering serves every page of an audience: parts aimed at regions this page does not have are dropped
    // here instead of being reported by htmx as errors.
    Array.prototype.slice.call(tpl.content.children).forEach(function (el) {
      if (!oobTarget(el)) el.remove();
    });
    var wrappers = tpl.content.querySelectorAll("[hx-swap-oob]");
    for (var i = 0; i < wrappers.length; i++) {
      var how = wrappers[i].getAttribute("hx-swap-oob");
      if (how.indexOf(":") < 0) continue;
      var children = Array.prototype.slice.call(wrappers[i].children);
      children.forEach(function (child) {
        if (child.id && document.getElementById(child.id)) {
          child.setAttribute("hx-swap-oob", "outerHTML");
          tpl.content.appendChild(child);
        }
      });
    }
    return tpl.innerHTML;
  }

  function defineExtension() {
    window.htmx.defineExtension("live", {
      transformResponse: function (text, xhr) {
        if (xhr === null && pendingHtml !== null) {
          var html = pendingHtml;
          pendingHtml = null;
          return makeIdempotent(html);
        }
        return text;
      }
    });
  }

  if (window.htmx) {
    defineExtension();
    // Exponential backoff with jitter, capped at 10 s: a restarted server is not hit by every page at once.
    window.htmx.config.wsReconnectDelay = function (retryCount) {
      var max = Math.min(10000, 500 * Math.pow(2, retryCount));
      return max / 2 + Math.random() * max / 2;
    };
  }

  // --- writes over the socket (live/socket_writes.py; docs/realtime.md, "Writes") ---------------------------------
  var WRITE_TIMEOUT = 8000;  // no answer by then: the write is taken as lost (a form with a client id goes over HTTP)
  var writes = {};           // frame id -> {resolve, reject, timer}
  var writeCount = 0;

  // A write over the socket: a Promise of its result. Rejected with {kind, message, fields, retry_after} when
  // refused, with {kind: "offline"} when the socket cannot take writes now (nothing was sent), and with
  // {kind: "unanswered"} when no answer came (the write may or may not have happened: resend only what is
  // idempotent, a form with its client id).
  function write(action, data) {
    return new Promise(function (resolve, reject) {
      if (!socket || !ready) { reject({ kind: "offline" }); return; }
      writeCount += 1;
      var id = "w" + writeCount + "-" + Math.random().toString(36).slice(2, 10);
      writes[id] = {
        resolve: resolve, reject: reject,
        timer: setTimeout(function () { settle(id, null, { kind: "unanswered" }); }, WRITE_TIMEOUT)
      };
      send({ type: "write", id: id, action: action, data: data || {} });
    });
  }

  function settle(id, result, failure) {
    var pending = writes[id];
    if (!pending) return;  // answered after its timeout: already sent again (or given up)
    delete writes[id];
    clearTimeout(pending.timer);
    if (failure) pending.reject(failure); else pending.resolve(result);
  }

  function answered(frame) {
    if (frame.type === "written") settle(frame.id, frame.result === undefined ? null : frame.result, null);
    else settle(frame.id, null, { kind: frame.kind, message: frame.message || "", fields: frame.fields || {},
                                  retry_after: frame.retry_after });
  }

  function unanswered() {  // the socket closed: its writes will never be answered
    Object.keys(writes).forEach(function (id) { settle(id, null, { kind: "unanswered" }); });
  }

  // A form's fields as the server's QueryDict takes them (a repeated name: a list); null when a field cannot go
  // over the socket (a file).
  function fieldsOf(form, submitter) {
    var formData;
    try { formData = new FormData(form, submitter || undefined); } catch (e) { formData = new FormData(form); }
    var data = {}, ok = true;
    formData.forEach(function (value, key) {
      if (typeof value !== "string") { ok = false; return; }
      if (key === "csrfmiddlewaretoken") return;  // the socket's Origin was checked when it opened
      if (!Object.prototype.hasOwnProperty.call(data, key)) data[key] = value;
      else if (Array.isArray(data[key])) data[key].push(value);
      else data[key] = [data[key], value];
    });
    return ok ? data : null;
  }

  function slotOf(form) {
    return document.getElementById(form.getAttribute("data-live-errors") || form.id + "-errors") ||
           document.getElementById("flash");
  }
  // A refusal about one field (and no other) that has an error slot of its own (an "-errors" element it describes,
  // not the form's) is said there, as the server's `field_slots` does for the same refusal over HTTP.
  function fieldSlotOf(form, failure) {
    var names = Object.keys(failure.fields || {});
    var field = names.length === 1 ? fieldsNamed(form, names)[0] : null;
    var ids = field ? (field.getAttribute("aria-describedby") || "").split(" ") : [];
    for (var i = 0; i < ids.length; i++) {
      var slot = /-errors$/.test(ids[i]) && document.getElementById(ids[i]);
      if (slot && slot !== slotOf(form)) return slot;
    }
    return null;
  }
  // Every error slot of a form (its own and its fields'), emptied when it goes through.
  function slotsOf(form) {
    var slots = [slotOf(form)];
    Array.prototype.forEach.call(form.elements, function (field) {
      (field.getAttribute("aria-describedby") || "").split(" ").forEach(function (id) {
        var slot = /-errors$/.test(id) && document.getElementById(id);
        if (slot && slots.indexOf(slot) < 0) slots.push(slot);
      });
    });
    return slots.filter(function (slot) { return slot && slot !== document.getElementById("flash"); });
  }

  // A refusal from the socket, shown as an htmx 4xx answer is (live/flash.html's markup in the form's slot, or its
  // field's, said by the announcer), then refusalShown as for htmx.
  function showRefusal(form, failure) {
    var slot = fieldSlotOf(form, failure) || slotOf(form);
    if (slot) {
      var line = document.createElement("p");
      line.className = "flash-error";
      line.setAttribute("data-refusal", failure.kind);
      var names = Object.keys(failure.fields || {});
      if (names.length) line.setAttribute("data-refusal-fields", names.join(" "));
      line.textContent = failure.message;
      slot.replaceChildren(line);
    }
    announce(failure.message);
    refusalShown(slot, form);
  }

  // An htmx request that failed without one of the seam's refusals (a 503 while the database restarts, a 404 for
  // what was deleted meanwhile, a 403 for a form whose CSRF token went out of date) or got no answer at all: htmx
  // swaps nothing, so it is said in the form's slot and by the announcer as a refusal is, instead of nothing
  // happening. What was typed stays: sent again, a form with a client id is still written once.
  function requestFailed(evt) {
    var elt = evt.detail.elt, xhr = evt.detail.xhr;
    if (!elt || !elt.getAttribute || isRefusal(xhr) || evt.defaultPrevented) return;  // (handled by the form)
    if (/every /.test(elt.getAttribute("hx-trigger") || "")) return;  // a poll tries again by itself
    var status = evt.type === "htmx:sendError" || !xhr ? 0 : xhr.status;
    var kind = !status ? "unanswered" : status === 404 || status === 410 ? "not_found"
             : status === 429 || status >= 500 ? "unavailable" : "forbidden";
    var message = document.body.getAttribute(kind === "forbidden" ? "data-msg-expired" : "data-msg-" +
                                             kind.replace("_", "-")) || "";
    showRefusal(elt.closest("form") || elt, { kind: kind, message: message });
  }
  document.addEventListener("htmx:responseError", requestFailed);
  document.addEventListener("htmx:sendError", requestFailed);

  function fire(form, name, detail) {
    form.dispatchEvent(new CustomEvent(name, { bubbles: true, detail: detail }));
  }

  // The form a push put in the place of `form` (the room's copy of a +1 can arrive before the socket's answer to it,
  // and replace the contribution, its form with it): the answer is shown and said through that one, else through
  // none (a detached form's events reach no listener of the page). The same id, else, in the part pushed anew (its
  // nearest ancestor with an id), the form of the same write and address.
  function inPage(form) {
    if (form.isConnected) return form;
    if (form.id) return document.getElementById(form.id) || form;
    for (var up = form.parentElement; up; up = up.parentElement) {
      if (!up.id) continue;
      var part = document.getElementById(up.id);
      var forms = part ? part.querySelectorAll("form[data-live-write]") : [];
      for (var i = 0; i < forms.length; i++) {
        if (forms[i].getAttribute("data-live-write") === form.getAttribute("data-live-write") &&
            forms[i].getAttribute("action") === form.getAttribute("action")) return forms[i];
      }
      return form;
    }
    return form;
  }

  // The HTTP path, as without the socket: htmx's request for an hx-post form, the browser's post otherwise.
  function postOverHttp(form, submitter) {
    form.liveOverHttp = true;
    try {
      if (form.requestSubmit) form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      else if (window.htmx && form.hasAttribute("hx-post")) window.htmx.trigger(form, "submit");
      else form.submit();
    } finally {
      form.liveOverHttp = false;
    }
  }

  function freshKey() {  // a version 4 UUID: every form's key takes it (messages' is a UUID field)
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // A sending asked for while the form was busy, made now that it is answered (through the submit event, so over
  // the socket or HTTP as any other).
  function postNext(form, submitter) {
    submitter = submitter === true || submitter.form !== form ? undefined : submitter;
    if (form.requestSubmit) form.requestSubmit(submitter);
    else form.submit();
  }

  // Before htmx (a capture listener on the document runs before the form's own): a live form goes over the socket.
  document.addEventListener("submit", function (evt) {
    var form = evt.target, action = form && form.getAttribute && form.getAttribute("data-live-write");
    // Offline (the browser knows it): the HTTP path fails at once and the form's own retry takes over.
    if (!action || form.liveOverHttp || !socket || !ready || navigator.onLine === false) return;
    var data = fieldsOf(form, evt.submitter);
    if (!data) return;
    evt.preventDefault();
    evt.stopImmediatePropagation();
    // The same form is being sent: one at a time, unless each sending is a write of its own (data-live-many: taps).
    // Sent again as it is (a double click): nothing more. Changed meanwhile (the next comment typed while the first
    // is answered; the room's own copy of it may arrive before our answer): sent once the first is answered.
    var many = form.hasAttribute("data-live-many"), sent = JSON.stringify(data);
    if (!many && form.getAttribute("aria-busy") === "true") {
      if (sent !== form.liveSent) form.liveNext = evt.submitter || true;
      return;
    }
    var submitter = evt.submitter;
    if (!many) { form.setAttribute("aria-busy", "true"); form.liveSent = sent; }
    fire(form, "live:writing", { action: action, data: data });
    write(action, data).then(function (result) {
      var next = form.liveNext;
      form.removeAttribute("aria-busy");
      form.liveSent = form.liveNext = null;
      form = inPage(form);
      slotsOf(form).forEach(function (slot) { slot.replaceChildren(); });
      formAccepted(form);
      // Emptied only when it still holds what was sent: what the person typed since stays.
      var unchanged = many || JSON.stringify(fieldsOf(form)) === sent;
      var emptied = unchanged && !form.hasAttribute("data-live-keep");
      if (emptied) form.reset();
      fire(form, "live:written", { action: action, result: result, emptied: emptied });
      if (next) postNext(form, next);
    }, function (failure) {
      form.removeAttribute("aria-busy");
      form.liveSent = form.liveNext = null;  // refused: what was typed since stays in the form, beside the reason
      form = inPage(form);
      if (failure.kind === "unanswered" || failure.kind === "offline") {
        // Sent again over HTTP only when the form carries its idempotency key and still holds what was sent (the
        // next comment typed meanwhile must not go under the first one's key): the server then writes it once.
        // Anything else may or may not have happened: say so, what was typed stays (a lost tap is not worth it).
        var keyed = form.elements.namedItem(form.getAttribute("data-live-key") || "client_id");
        var same = many || JSON.stringify(fieldsOf(form)) === sent;
        if (keyed && same) postOverHttp(form, submitter);
        else {
          // What the form holds now is another write: it gets a key of its own (under the first one's, the server
          // would take it for the first and write nothing).
          if (keyed && keyed.value) keyed.value = freshKey();
          if (!many) showRefusal(form, { kind: "unanswered",
                                         message: document.body.getAttribute("data-msg-unanswered") || "" });
          fire(form, "live:unanswered", { action: action });
        }
        return;
      }
      showRefusal(form, failure);
      fire(form, "live:refused", failure);
    });
  }, true);

  // `freshKey`: the one generator of the client keys that forms carry (a comment's, a contribution's, a message's).
  // `announce`: a text said politely by the page's announcer (a result the page shows no words for).
  // `likeness`: what finds a control again in content pushed anew (its tag, classes, and address or text).
  window.Live = { write: write, ready: function () { return !!socket && ready; }, freshKey: freshKey,
                  announce: announce, likeness: likeness };

  // Small helpers for feature scripts (typing indicators, presence).
  window.agoraLive = {
    send: send,
    state: state,
    typing: function (stream, extra) {
      var payload = { type: "typing", stream: stream };
      for (var k in (extra || {})) payload[k] = extra[k];
      send(payload);
    }
  };
})();
