/*!
 * Mutuals Assistant adviser console: the queue (/console) and a case (/console/cases/<id>).
 *
 * Talks to the console's JSON API (bot/console/_routes.py). Every change is a POST carrying the
 * session's CSRF token (from /console/api/me) in the X-CSRF-Token header; a 401 means the session
 * has ended and sends the adviser to the sign-in page. Pages refresh themselves every 2 seconds
 * while the tab is visible. In the queue, a case whose person has written since whoever has it last
 * opened it (anyone, while it waits) carries a "New message" badge; opening the case clears it.
 *
 * Everything a person or adviser wrote is put in the page as text (textContent, text nodes);
 * nothing here ever parses HTML. No inline scripts or styles: the server's CSP forbids them.
 */
(function () {
  "use strict";

  var POLL_MS = 2000;
  var API = "/console/api";
  var me = null;

  // ------------------------------------------------------------------ small helpers

  function $(id) { return document.getElementById(id); }

  // el("p", {className: "x", text: "hi", href: "..."}, [child, "text", ...])
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = String(value);
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function setText(node, text) {
    if (node && node.textContent !== text) node.textContent = text;
  }

  function duration(seconds) {
    var s = Math.max(0, Math.round(Number(seconds) || 0));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    var h = Math.floor(m / 60);
    if (h < 24) return h + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
    var d = Math.floor(h / 24);
    return d + " d" + (h % 24 ? " " + (h % 24) + " h" : "");
  }

  function timeEl(at) {
    if (!at) return null;
    var d = new Date(Number(at) * 1000);
    if (isNaN(d.getTime())) return null;
    var text = d.toLocaleTimeString("en-GB", {hour: "2-digit", minute: "2-digit"});
    if (d.toDateString() !== new Date().toDateString()) {
      text = d.toLocaleDateString("en-GB", {day: "numeric", month: "short"}) + " " + text;
    }
    return el("time", {datetime: d.toISOString(), title: d.toLocaleString("en-GB"), text: text});
  }

  function clockNow() {
    return new Date().toLocaleTimeString("en-GB", {hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }

  function safeHref(url) {
    try {
      var parsed = new URL(String(url), window.location.href);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") return parsed.href;
    } catch (e) { /* not a URL */ }
    return null;
  }

  var CHANNELS = {rest: "REST API", socketio: "Web chat", telegram: "Telegram"};
  function channelLabel(channel) { return CHANNELS[channel] || channel || "unknown"; }

  var OUTCOME_LABELS = {
    answered: "Answered", referred: "Referred elsewhere", no_response: "No response from the person",
    out_of_scope: "Out of scope", cancelled: "Cancelled by the person"
  };
  function outcomeLabel(outcome) {
    return OUTCOME_LABELS[outcome] || String(outcome || "").replace(/_/g, " ");
  }

  // ------------------------------------------------------------------ the API

  function ApiError(message, status) {
    this.message = message;
    this.status = status;
  }

  function signIn() {
    window.location.assign("/console/login");
  }

  function api(method, path, body) {
    var options = {method: method, credentials: "same-origin", cache: "no-store",
                   headers: {"Accept": "application/json"}};
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = me ? me.csrf : "";
      if (body !== undefined) {
        options.headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(body);
      }
    }
    return fetch(path, options).then(function (response) {
      if (response.status === 401) {
        signIn();
        throw new ApiError("Your session has ended. Sign in again.", 401);
      }
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) {
          throw new ApiError((data && typeof data.error === "string" && data.error) ||
                             "The server answered " + response.status + ".", response.status);
        }
        return data;
      });
    }, function () {
      throw new ApiError("The console's server can't be reached. Check your connection; it will keep trying.", 0);
    });
  }

  function showError(node, error) {
    if (!node) return;
    node.textContent = error ? (error.message || String(error)) : "";
    node.hidden = !error;
  }

  // Runs `task` every POLL_MS while the tab is visible, never two at once; `now()` runs it as soon as
  // the one in flight has finished.
  function Poller(task, status) {
    var timer = null, running = false, again = false, failing = false;

    function schedule() {
      clearTimeout(timer);
      if (!document.hidden) timer = setTimeout(tick, POLL_MS);
    }

    function tick() {
      if (running) { again = true; return; }
      running = true;
      clearTimeout(timer);
      Promise.resolve().then(task).then(function () {
        failing = false;
        if (status) { status.classList.remove("offline"); setText(status, "Live · updated " + clockNow()); }
      }, function (error) {
        if (status && error && error.status !== 401) {
          status.classList.add("offline");
          setText(status, error.message || "Could not refresh.");
        }
        failing = true;
      }).then(function () {
        running = false;
        if (again) { again = false; tick(); } else schedule();
      });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        clearTimeout(timer);
        if (status && !failing) setText(status, "Paused while this tab is hidden");
      } else {
        tick();
      }
    });
    return {now: tick};
  }

  // ------------------------------------------------------------------ sign-out (every console page)

  function wireSignOut() {
    var button = $("sign-out");
    if (!button) return;
    button.addEventListener("click", function () {
      button.disabled = true;
      api("POST", "/console/logout").then(signIn, function (error) {
        button.disabled = false;
        if (error.status !== 401) showError($("console-error"), error);
      });
    });
  }

  // ------------------------------------------------------------------ available / away (every console page)

  function wireAvailability() {
    var button = $("availability"), note = $("availability-note");
    if (!button) return;
    function show(available) {
      button.setAttribute("aria-pressed", available ? "true" : "false");
      setText(note, available
        ? "You're available: people handed over are told an adviser will join soon."
        : "You're away: people handed over are told no adviser is free.");
    }
    show(!!(me && me.available));
    button.addEventListener("click", function () {
      var wanted = button.getAttribute("aria-pressed") !== "true";
      button.disabled = true;
      unlockSound();
      api("POST", API + "/me/availability", {available: wanted}).then(function (result) {
        if (me) me.available = result.available;
        show(result.available);
      }, function (error) {
        if (error.status !== 401) setText(note, "Could not change it: " + error.message);
      }).then(function () { button.disabled = false; });
    });
  }

  // ------------------------------------------------------------------ notifications (every console page)
  //
  // While the adviser is available (on duty), every console page looks at the cases every few
  // seconds, also when its tab is in the background, and tells them of a new case waiting, a new
  // message from the person in a case of theirs, or a case a colleague handed to them: a browser
  // notification while the tab is hidden or unfocused (only once they have allowed it, by pressing
  // the button: never asked on page load), and a short sound made with WebAudio, which they can
  // switch off (remembered in localStorage).

  var NOTIFY_MS = 4000;
  var SOUND_KEY = "mutuals.console.sound";
  var audio = null;

  function soundOn() {
    try { return window.localStorage.getItem(SOUND_KEY) !== "off"; } catch (e) { return true; }
  }

  // Browsers start sound only after the person has pressed something on the page: make (or wake)
  // the audio context on such a press, so a later beep from a background tab can play.
  function unlockSound() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || !soundOn()) return;
    try {
      if (!audio) audio = new Context();
      if (audio.state === "suspended" && audio.resume) audio.resume();
    } catch (e) { audio = null; }
  }

  // Two short rising tones, about a third of a second in all.
  function beep() {
    if (!soundOn()) return false;
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return false;
    try {
      if (!audio) audio = new Context();
      if (audio.state === "suspended" && audio.resume) audio.resume();
      var start = audio.currentTime + 0.01;
      [[660, 0], [880, 0.14]].forEach(function (tone) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        var at = start + tone[1];
        osc.type = "sine";
        osc.frequency.setValueAtTime(tone[0], at);
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(at);
        osc.stop(at + 0.18);
      });
      return true;
    } catch (e) { return false; }
  }

  function notificationsSupported() { return typeof window.Notification === "function"; }

  function wireNotifications() {
    var button = $("notify-permission"), soundButton = $("notify-sound"), note = $("notify-note");
    if (!button || !soundButton) return;

    function showPermission() {
      var text;
      if (!notificationsSupported()) {
        button.hidden = true;
        text = "This browser can't show notifications.";
      } else if (Notification.permission === "granted") {
        button.hidden = true;
        text = "Notifications are on: while you're available, you're told of new cases and messages when this tab is in the background.";
      } else if (Notification.permission === "denied") {
        button.hidden = true;
        text = "Notifications are blocked for this site in your browser's settings.";
      } else {
        button.hidden = false;
        text = "Turn on notifications to hear of new cases while this tab is in the background.";
      }
      setText(note, text);
    }

    function showSound() {
      soundButton.setAttribute("aria-pressed", soundOn() ? "true" : "false");
    }

    button.addEventListener("click", function () {
      unlockSound();
      if (!notificationsSupported()) return showPermission();
      var asked = Notification.requestPermission(showPermission);  // older browsers take a callback
      if (asked && asked.then) asked.then(showPermission, showPermission);
    });
    soundButton.addEventListener("click", function () {
      var on = !soundOn();
      try { window.localStorage.setItem(SOUND_KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
      showSound();
      if (on) { unlockSound(); beep(); }  // what it sounds like
      setText(note, on ? "Sound on: a short tone for new cases and messages." : "Sound off.");
    });
    showPermission();
    showSound();
    startNotifier();
  }

  function notify(title, body, url, tag) {
    var background = document.hidden || !document.hasFocus();
    if (background && notificationsSupported() && Notification.permission === "granted") {
      try {
        var n = new Notification(title, {body: body, tag: tag, lang: "en-GB"});
        n.onclick = function () { window.focus(); if (url) window.location.assign(url); n.close(); };
      } catch (e) { /* e.g. Android Chrome wants a service worker: the sound and the page still tell */ }
    }
  }

  function startNotifier() {
    var before = null;  // what the last look found: {waiting: {id: true}, unread: {id: n}, handed: {id: true}}

    function look() {
      if (!me || !me.available) { before = null; return Promise.resolve(); }  // away: not on duty
      return api("GET", API + "/cases").then(function (data) {
        var now = {waiting: {}, unread: {}, handed: {}}, told = [];
        ((data && data.waiting) || []).forEach(function (c) {
          now.waiting[c.id] = true;
          if (before && !before.waiting[c.id]) {
            told.push(["New case waiting" + (c.person_name ? " from " + c.person_name : ""),
                       String(c.question || "").slice(0, 140), c]);
          }
        });
        ((data && data.mine) || []).forEach(function (c) {
          var n = Number(c.unread_messages) || 0;
          now.unread[c.id] = n;
          if (c.handed_to_me) now.handed[c.id] = true;
          if (!before) return;
          if (c.handed_to_me && !before.handed[c.id]) {
            told.push([String(c.handed_to_me.from) + " handed you case " + c.id,
                       String(c.handed_to_me.note || "").slice(0, 140), c]);
          } else if (n > (before.unread[c.id] || 0)) {
            told.push(["New message " + (c.person_name ? "from " + c.person_name : "in case " + c.id),
                       "Case " + c.id + ": " + String(c.question || "").slice(0, 120), c]);
          }
        });
        before = now;
        if (!told.length) return;
        var first = told[0], c = first[2];
        notify(told.length === 1 ? first[0] : told.length + " new cases and messages",
               told.length === 1 ? first[1] : told.map(function (t) { return t[0]; }).join("; "),
               "/console/cases/" + encodeURIComponent(c.id), "mutuals-case-" + c.id);
        beep();
      }, function () { /* the page's own refresh shows the problem */ });
    }

    (function loop() {
      look().then(function () { setTimeout(loop, NOTIFY_MS); });
    }());
  }

  // ------------------------------------------------------------------ saved replies

  var savedCache = {at: 0, items: []};

  function savedReplies() {
    if (Date.now() - savedCache.at < 60000) return Promise.resolve(savedCache.items);
    return api("GET", API + "/saved-replies").then(function (data) {
      savedCache = {at: Date.now(), items: (data && data.saved_replies) || []};
      return savedCache.items;
    });
  }

  // best first: titles starting with the letters typed, then titles with a word starting so, then any match
  function matchSaved(items, query) {
    var q = query.trim().toLowerCase();
    var scored = [];
    items.forEach(function (r) {
      var title = String(r.title || "").toLowerCase();
      var rank = !q ? 2 : title.indexOf(q) === 0 ? 0 : (" " + title).indexOf(" " + q) >= 0 ? 1 :
        title.indexOf(q) >= 0 ? 2 : String(r.text || "").toLowerCase().indexOf(q) >= 0 ? 3 : -1;
      if (rank >= 0) scored.push([rank, title, r]);
    });
    scored.sort(function (a, b) { return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0); });
    return scored.slice(0, 8).map(function (s) { return s[2]; });
  }

  // In a reply box: "/" and letters at the start of a line (or after a space) list the saved replies
  // whose titles match; Up and Down choose, Enter puts the chosen one in place of "/letters",
  // Escape closes the list. `fill(reply)` resolves to the text to insert.
  function wireSavedReplyFinder(box, fill) {
    var list = el("ul", {id: "saved-finder", className: "saved-finder", role: "listbox",
                         "aria-label": "Saved replies"});
    list.hidden = true;
    var help = el("p", {id: "saved-finder-status", className: "hint", role: "status"});
    box.parentNode.insertBefore(list, box.nextSibling);
    box.parentNode.insertBefore(help, list.nextSibling);
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", "saved-finder");
    var shown = [], active = -1, token = null;

    function tokenAtCursor() {
      var upto = box.value.slice(0, box.selectionStart);
      var m = /(^|\s)\/([A-Za-z0-9' -]{0,40})$/.exec(upto);
      if (!m || /\s{2,}/.test(m[2])) return null;
      return {start: upto.length - m[2].length - 1, end: box.selectionStart, query: m[2]};
    }

    function close(say) {
      list.hidden = true;
      shown = [];
      active = -1;
      token = null;
      box.removeAttribute("aria-activedescendant");
      setText(help, say || "");
    }

    function mark() {
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      if (active >= 0) box.setAttribute("aria-activedescendant", "saved-option-" + shown[active].id);
      else box.removeAttribute("aria-activedescendant");
    }

    function choose(i) {
      var reply = shown[i], at = token;
      if (!reply || !at) return;
      close("");
      Promise.resolve(fill(reply)).then(function (text) {
        var value = box.value;
        box.value = value.slice(0, at.start) + text + value.slice(at.end);
        var end = at.start + text.length;
        box.focus();
        box.setSelectionRange(end, end);
        setText(help, "Saved reply \u201c" + reply.title + "\u201d added. Edit it, then press Send reply.");
      }, function (error) { setText(help, error.message || "Could not use that saved reply."); });
    }

    function update() {
      var found = tokenAtCursor();
      if (!found) { if (!list.hidden) close(""); return; }
      token = found;
      savedReplies().then(function (items) {
        if (!token || token.start !== found.start) return;
        var matched = matchSaved(items, found.query);
        var same = !list.hidden && matched.length === shown.length &&
          matched.every(function (r, i) { return r.id === shown[i].id; });
        if (same) return;  // the same replies: the list stays as it is (and where the adviser is in it)
        shown = matched;
        while (list.firstChild) list.removeChild(list.firstChild);
        shown.forEach(function (r, i) {
          var li = el("li", {id: "saved-option-" + r.id, role: "option", "aria-selected": "false"},
                      [el("span", {className: "saved-title", text: String(r.title)}), " ",
                       el("span", {className: "sub", text: String(r.text).slice(0, 90) +
                                                          (String(r.text).length > 90 ? "\u2026" : "")})]);
          li.addEventListener("mousedown", function (event) { event.preventDefault(); active = i; choose(i); });
          list.appendChild(li);
        });
        active = shown.length ? 0 : -1;
        list.hidden = !shown.length;
        mark();
        setText(help, shown.length
          ? shown.length + (shown.length === 1 ? " saved reply matches" : " saved replies match") +
            ". Up and Down choose, Enter adds it, Escape closes."
          : (items.length ? "No saved reply matches \u201c" + found.query + "\u201d." : "There are no saved replies yet."));
      }, function (error) { setText(help, error.message); });
    }

    box.addEventListener("input", update);
    box.addEventListener("keydown", function (event) {
      if (list.hidden || !shown.length) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
        mark();
        setText(help, shown[active].title + " (" + (active + 1) + " of " + shown.length + ")");
      } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        event.stopImmediatePropagation();
        choose(active);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        close("Saved replies closed.");
      } else if (event.key === "Tab") {
        close("");
      }
    });
    box.addEventListener("blur", function () { setTimeout(function () { if (document.activeElement !== box) close(""); }, 200); });
  }

  function startSavedReplies(root) {
    var supervisor = root.getAttribute("data-role") === "supervisor";
    var rows = $("saved-rows"), status = $("saved-status");
    var form = $("saved-form");

    function linkText(r) {
      return r.guidance_slug ? r.guidance_slug + (r.guidance_anchor ? "#" + r.guidance_anchor : "") : "";
    }

    function load() {
      return api("GET", API + "/saved-replies" + (supervisor ? "?all=1" : "")).then(function (data) {
        var items = (data && data.saved_replies) || [];
        while (rows.firstChild) rows.removeChild(rows.firstChild);
        items.forEach(function (r) {
          var href = r.link ? safeHref(r.link.url) : null;
          var cells = [
            el("td", {"data-label": "Title", text: String(r.title)}),
            el("td", {"data-label": "Text", className: "question", text: String(r.text)}),
            el("td", {"data-label": "Guidance link"}, [href ? el("a", {href: href, target: "_blank",
              rel: "noopener noreferrer", text: String(r.link.title)}) : (r.guidance_slug ? linkText(r) + " (not found)" : "\u2014")]),
            el("td", {"data-label": "Used", text: r.uses === 1 ? "1 time" : r.uses + " times"})
          ];
          if (supervisor) {
            var edit = el("button", {type: "button", className: "secondary", text: "Edit",
                                     "aria-label": "Edit \u201c" + r.title + "\u201d"});
            var retire = el("button", {type: "button", className: "secondary", text: r.active ? "Retire" : "Bring back",
                                       "aria-label": (r.active ? "Retire \u201c" : "Bring back \u201c") + r.title + "\u201d"});
            edit.addEventListener("click", function () {
              $("saved-id").value = r.id;
              $("saved-title").value = r.title;
              $("saved-text").value = r.text;
              $("saved-link").value = linkText(r);
              setText($("saved-legend"), "Edit \u201c" + r.title + "\u201d");
              $("saved-new").hidden = false;
              $("saved-title").focus();
            });
            retire.addEventListener("click", function () {
              api("POST", API + "/saved-replies/" + encodeURIComponent(r.id), {
                title: r.title, text: r.text, guidance_slug: r.guidance_slug, guidance_anchor: r.guidance_anchor,
                active: !r.active
              }).then(function () {
                setText(status, (r.active ? "Retired \u201c" : "Brought back \u201c") + r.title + "\u201d.");
                return load();
              }, function (error) { setText(status, error.message); });
            });
            cells.push(el("td", {"data-label": "Status", text: r.active ? "In use" : "Retired"}));
            cells.push(el("td", {"data-label": "Change"}, [edit, " ", retire]));
          }
          rows.appendChild(el("tr", {"data-id": r.id, className: r.active ? null : "retired"}, cells));
        });
        if (!items.length) {
          rows.appendChild(el("tr", {}, [el("td", {colspan: supervisor ? 6 : 4, className: "empty",
                                                   text: "No saved replies yet."})]));
        }
      });
    }

    function reset() {
      form.reset();
      $("saved-id").value = "";
      setText($("saved-legend"), "Add a saved reply");
      $("saved-new").hidden = true;
    }

    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var link = $("saved-link").value.trim().split("/guidance/").pop();
        var parts = link.split("#");
        var id = $("saved-id").value;
        var body = {title: $("saved-title").value, text: $("saved-text").value,
                    guidance_slug: parts[0] || "", guidance_anchor: parts[1] || ""};
        showError($("saved-error"), null);
        $("saved-save").disabled = true;
        api("POST", API + "/saved-replies" + (id ? "/" + encodeURIComponent(id) : ""), body).then(function (result) {
          setText(status, (id ? "Saved the changes to \u201c" : "Added \u201c") + result.saved_reply.title + "\u201d.");
          reset();
          return load();
        }, function (error) {
          showError($("saved-error"), error);
        }).then(function () { $("saved-save").disabled = false; });
      });
      $("saved-new").addEventListener("click", function () { reset(); $("saved-title").focus(); });
    }
    load().catch(function (error) { showError($("console-error"), error); });
  }

  // ------------------------------------------------------------------ the tag list (/console/tags)

  function startTags(root) {
    var supervisor = root.getAttribute("data-role") === "supervisor";
    var list = $("tag-list"), status = $("tag-status"), form = $("tag-form");

    function load() {
      return api("GET", API + "/tags" + (supervisor ? "?all=1" : "")).then(function (data) {
        var tags = (data && data.tags) || [];
        while (list.firstChild) list.removeChild(list.firstChild);
        tags.forEach(function (t) {
          var children = [el("span", {className: "tag-name", text: String(t.name)})];
          if (supervisor) {
            children.push(el("span", {className: "sub", text: t.active ? "In use" : "Retired"}));
            var change = el("button", {type: "button", className: "secondary", text: t.active ? "Retire" : "Bring back",
                                       "aria-label": (t.active ? "Retire the tag " : "Bring back the tag ") + t.name});
            change.addEventListener("click", function () {
              change.disabled = true;
              api("POST", API + "/tags/" + encodeURIComponent(t.id), {active: !t.active}).then(function () {
                setText(status, (t.active ? "Retired \u201c" : "Brought back \u201c") + t.name + "\u201d.");
                return load();
              }, function (error) { change.disabled = false; setText(status, error.message); });
            });
            children.push(change);
          }
          list.appendChild(el("li", {"data-tag": t.name, className: t.active ? null : "retired"}, children));
        });
        if (!tags.length) list.appendChild(el("li", {className: "empty", text: "No tags yet."}));
      });
    }

    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var name = $("tag-name").value.trim();
        showError($("tag-error"), null);
        if (!name) { showError($("tag-error"), new ApiError("Write the tag first.")); $("tag-name").focus(); return; }
        $("tag-add").disabled = true;
        api("POST", API + "/tags", {name: name}).then(function (result) {
          $("tag-name").value = "";
          setText(status, "Added \u201c" + result.tag.name + "\u201d.");
          return load();
        }, function (error) { showError($("tag-error"), error); }).then(function () {
          $("tag-add").disabled = false;
          $("tag-name").focus();
        });
      });
    }
    load().catch(function (error) { showError($("console-error"), error); });
  }

  // ------------------------------------------------------------------ searching closed cases (/console/search)

  function startSearch() {
    var form = $("search-form"), rows = $("search-rows"), table = $("search-results"), status = $("search-status");
    var filled = false;

    function fillChoices(data) {
      if (filled) return;
      filled = true;
      (data.tags || []).forEach(function (t) { $("search-tag").appendChild(el("option", {value: t, text: t})); });
      (data.advisers || []).forEach(function (a) {
        $("search-adviser").appendChild(el("option", {value: a.id, text: String(a.name)}));
      });
    }

    function search(announceIt) {
      var query = {q: $("search-q").value.trim(), tag: $("search-tag").value, adviser: $("search-adviser").value,
                   from: $("search-from").value, to: $("search-to").value};
      var params = Object.keys(query).filter(function (k) { return query[k]; }).map(function (k) {
        return encodeURIComponent(k) + "=" + encodeURIComponent(query[k]);
      }).join("&");
      showError($("search-error"), null);
      $("search-go").disabled = true;
      return api("GET", API + "/closed-cases" + (params ? "?" + params : "")).then(function (data) {
        fillChoices(data);
        var cases = data.cases || [];
        while (rows.firstChild) rows.removeChild(rows.firstChild);
        cases.forEach(function (c) {
          rows.appendChild(el("tr", {"data-id": c.id}, [
            el("td", {}, [el("a", {href: "/console/cases/" + encodeURIComponent(c.id), text: "Case " + c.id})]),
            questionCell(c),
            el("td", {"data-label": "Person"}, [c.person_name ? String(c.person_name) : "(no name given)"]),
            el("td", {"data-label": "Adviser"}, [c.adviser ? String(c.adviser) : "\u2014"]),
            el("td", {"data-label": "Closed"}, [timeEl(c.closed_at)]),
            el("td", {"data-label": "Outcome"}, [outcomeLabel(c.outcome)]),
            el("td", {"data-label": "Tags"}, [c.tags ? String(c.tags).split(",").join(", ") : "\u2014"])
          ]));
        });
        table.hidden = !cases.length;
        if (announceIt !== false) {
          setText(status, cases.length ? (cases.length === 1 ? "1 closed case" : cases.length + " closed cases") +
                  (data.more ? " (the latest 200; narrow the search for the rest)." : ".") : "No closed case matches.");
        }
      }, function (error) { showError($("search-error"), error); }).then(function () { $("search-go").disabled = false; });
    }

    form.addEventListener("submit", function (event) { event.preventDefault(); search(); });
    search(false);
  }

  // ------------------------------------------------------------------ the queue

  var GROUPS = [
    {key: "waiting", title: "Waiting", empty: "No one is waiting for an adviser."},
    {key: "mine", title: "With me", empty: "You have no open cases."},
    {key: "others", title: "With other advisers", empty: "No other adviser has an open case."},
    {key: "closed", title: "Closed", empty: "No closed cases yet."}
  ];

  function questionCell(c) {
    var question = String(c.question || "");
    var shown = question.length > 220 ? question.slice(0, 217) + "…" : question;
    return el("td", {className: "question", "data-label": "Question", title: shown !== question ? question : null},
              [shown]);
  }

  function whenText(c, key) {
    if (key === "waiting") {
      return duration(c.waiting_seconds) + (c.queue_position ? " · #" + c.queue_position + " in queue" : "");
    }
    if (key === "closed") return outcomeLabel(c.outcome);
    return "waited " + duration(c.waiting_seconds);
  }

  // "New message" (or "3 new messages") and when the last came: words, not only a colour.
  function unreadBadge(c) {
    var n = Number(c.unread_messages) || 0;
    if (n <= 0) return null;
    var at = timeEl(c.last_person_message_at);
    return el("span", {className: "unread"}, [
      el("span", {className: "badge", text: n === 1 ? "New message" : n + " new messages"}),
      at ? el("span", {className: "sub"}, ["last at ", at]) : null
    ]);
  }

  // "Handed to you by Ann" / "Handed back by Bob", with the note: a colleague passed the case on.
  function handoverBadge(c) {
    var h = c.handed_to_me || c.handed_back;
    if (!h) return null;
    return el("span", {className: "handover"}, [
      el("span", {className: "badge", text: (c.handed_to_me ? "Handed to you by " : "Handed back by ") + String(h.from)}),
      h.note ? el("span", {className: "sub", text: "\u201c" + String(h.note).slice(0, 160) +
                                                   (String(h.note).length > 160 ? "\u2026" : "") + "\u201d"}) : null
    ]);
  }

  function caseRow(c, key) {
    var label = "Case " + c.id;
    var who = c.person_name ? String(c.person_name) : "(no name given)";
    var last;
    if (key === "waiting") last = el("td", {className: "when", "data-label": "Waiting"}, [whenText(c, key)]);
    else if (key === "closed") last = el("td", {className: "when", "data-label": "Outcome"}, [whenText(c, key)]);
    else last = el("td", {className: "when", "data-label": "Waited"}, [whenText(c, key)]);
    var cells = [
      el("td", {}, [el("a", {href: "/console/cases/" + encodeURIComponent(c.id), text: label}),
                    el("span", {className: "sub"}, [timeEl(c.created_at)]),
                    unreadBadge(c), handoverBadge(c)]),
      questionCell(c),
      el("td", {"data-label": "Person"}, [who]),
      el("td", {"data-label": "Channel"}, [channelLabel(c.channel)]),
      el("td", {"data-label": "Topic"}, [c.topic ? String(c.topic) : "—"]),
      last
    ];
    if (key === "others" || key === "closed") {
      cells.push(el("td", {"data-label": "Adviser"}, [c.adviser ? String(c.adviser) : "—"]));
    }
    var unread = Number(c.unread_messages) > 0 || !!c.handed_to_me;
    return el("tr", {"data-id": c.id, className: unread ? "has-unread" : null}, cells);
  }

  function rowSignature(c) {
    var copy = {};
    Object.keys(c).forEach(function (k) { if (k !== "waiting_seconds") copy[k] = c[k]; });
    return JSON.stringify(copy);
  }

  // Updates a list of rows in place where it can, so polling neither flickers nor steals focus.
  function syncRows(tbody, items, build, update) {
    var active = document.activeElement;
    var focusId = active && tbody.contains(active) && active.closest("tr") ? active.closest("tr").getAttribute("data-id") : null;
    var existing = {};
    Array.prototype.forEach.call(tbody.children, function (tr) { existing[tr.getAttribute("data-id")] = tr; });
    var added = [];
    var rows = items.map(function (item) {
      var signature = rowSignature(item), old = existing[String(item.id)];
      if (old && old.getAttribute("data-sig") === signature) { update(old, item); return old; }
      var tr = build(item);
      tr.setAttribute("data-sig", signature);
      if (!old) added.push(item);
      return tr;
    });
    var same = rows.length === tbody.children.length &&
      rows.every(function (row, i) { return tbody.children[i] === row; });
    if (!same) {
      while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
      rows.forEach(function (row) { tbody.appendChild(row); });
      if (focusId) {
        var link = tbody.querySelector('tr[data-id="' + focusId.replace(/[^0-9]/g, "") + '"] a');
        if (link) link.focus();
      }
    }
    return added;
  }

  function startQueue(root) {
    var sections = {};
    GROUPS.forEach(function (group) {
      var headers = ["Case", "Question", "Person", "Channel", "Topic",
                     group.key === "waiting" ? "Waiting" : group.key === "closed" ? "Outcome" : "Waited"];
      if (group.key === "others" || group.key === "closed") headers.push("Adviser");
      var count = el("span", {className: "count", text: "0"});
      var heading = el("h2", {id: "group-" + group.key}, [group.title, " ", count]);
      var tbody = el("tbody");
      var table = el("table", {className: "cases", "aria-labelledby": "group-" + group.key, hidden: true}, [
        el("thead", {}, [el("tr", {}, headers.map(function (h) { return el("th", {scope: "col", text: h}); }))]),
        tbody
      ]);
      var empty = el("p", {className: "empty", text: group.empty});
      root.appendChild(el("section", {className: "group group-" + group.key, id: "cases-" + group.key,
                                      "aria-labelledby": "group-" + group.key}, [heading, empty, table]));
      sections[group.key] = {count: count, tbody: tbody, table: table, empty: empty};
    });

    var first = true;
    var baseTitle = document.title;
    var announcer = $("announce");
    var unreadBefore = {};  // case id -> its unread count at the last refresh
    var handedBefore = {};  // case ids handed to this adviser, not yet opened, at the last refresh

    // Screen readers read a live region when its text changes: the same words again are cleared first.
    function announce(text) {
      if (announcer.textContent !== text) { announcer.textContent = text; return; }
      announcer.textContent = "";
      setTimeout(function () { announcer.textContent = text; }, 150);
    }

    function render(data) {
      GROUPS.forEach(function (group) {
        var items = (data && data[group.key]) || [];
        var s = sections[group.key];
        setText(s.count, String(items.length));
        s.count.classList.toggle("busy", group.key === "waiting" && items.length > 0);
        s.table.hidden = items.length === 0;
        s.empty.hidden = items.length > 0;
        var added = syncRows(s.tbody, items, function (c) { return caseRow(c, group.key); }, function (tr, c) {
          var cell = tr.querySelector("td.when");
          setText(cell, whenText(c, group.key));
        });
        if (!first && group.key === "waiting" && added.length) {
          added.forEach(function (c) {
            var tr = s.tbody.querySelector('tr[data-id="' + Number(c.id) + '"]');
            if (tr) {
              tr.classList.add("fresh");
              setTimeout(function () { tr.classList.remove("fresh"); }, 6000);
            }
          });
          announce(added.length === 1
            ? "New case waiting: " + String(added[0].question || "").slice(0, 140)
            : added.length + " new cases waiting.");
        }
      });
      // a person wrote again in a case already here: say so (a case that is itself new was announced)
      var unreadNow = {}, wroteAgain = [];
      ["waiting", "mine", "others"].forEach(function (key) {
        ((data && data[key]) || []).forEach(function (c) {
          var n = Number(c.unread_messages) || 0;
          unreadNow[c.id] = n;
          if (!first && key !== "others" && n > (unreadBefore[c.id] || 0) && c.id in unreadBefore) wroteAgain.push(c);
        });
      });
      unreadBefore = unreadNow;
      var handedNow = {};
      ((data && data.mine) || []).forEach(function (c) {
        if (!c.handed_to_me) return;
        handedNow[c.id] = true;
        if (!first && !handedBefore[c.id]) {
          announce(String(c.handed_to_me.from) + " handed case " + c.id + " to you" +
                   (c.handed_to_me.note ? ": " + String(c.handed_to_me.note).slice(0, 140) : "."));
        }
      });
      handedBefore = handedNow;
      if (wroteAgain.length) {
        var one = wroteAgain[0], n = Number(one.unread_messages);
        announce(wroteAgain.length === 1
          ? (n === 1 ? "New message" : n + " new messages") + " from " +
            (one.person_name ? String(one.person_name) : "the person") + " in case " + one.id + "."
          : "New messages in " + wroteAgain.length + " cases.");
      }
      var waiting = ((data && data.waiting) || []).length;
      document.title = (waiting ? "(" + waiting + ") " : "") + baseTitle;
      first = false;
    }

    var poller = Poller(function () { return api("GET", API + "/cases").then(render); }, $("poll-status"));
    poller.now();
  }

  // ------------------------------------------------------------------ a case

  // The assistant's and advisers' messages as the person saw them in the widget: the same renderer
  // (static/shared/markdown.js, loaded before this file), with relative links resolved against this
  // server as the widget resolves them. It builds nodes and never parses HTML.
  function botText(text) {
    var box = el("div", {className: "text rendered"});
    if (window.MutualsMarkdown) {
      box.appendChild(window.MutualsMarkdown.renderMessage(text, {base: window.location.origin + "/"}).fragment);
    } else {
      box.appendChild(el("p", {text: text}));
    }
    return box;
  }

  function entrySignature(entry) {
    return [entry.kind, entry.at, entry.name, entry.text].join("\u0000");
  }

  function transcriptEntry(entry, c) {
    var kind = ["user", "bot", "adviser", "system"].indexOf(entry.kind) >= 0 ? entry.kind : "system";
    var who;
    if (kind === "user") who = (c && c.person_name ? String(c.person_name) : "The person") + " (person)";
    else if (kind === "adviser") who = (entry.name ? String(entry.name) : "An adviser") + " (adviser)";
    else if (kind === "bot") who = entry.name ? String(entry.name) : "Mutuals Assistant";
    else who = entry.name ? "Notice sent to the person" : "Event";
    var meta = el("p", {className: "meta"}, [el("span", {className: "who", text: who}), timeEl(entry.at)]);
    if (kind === "user" && entry.intent) meta.appendChild(el("span", {text: "intent: " + entry.intent}));
    var text = String(entry.text || "");
    // the assistant's and advisers' messages as the person saw them (botText)
    var children = [meta, kind === "bot" || kind === "adviser" ? botText(text) : el("p", {className: "text", text: text})];

    var buttons = (entry.buttons || []).filter(function (b) { return b; });
    if (buttons.length) {
      children.push(el("p", {className: "extra", text: "Buttons offered: " + buttons.map(String).join(" · ")}));
    }
    var sources = entry.sources || [];
    if ((kind === "bot" || (kind === "adviser" && sources.length)) && (sources.length || typeof entry.score === "number")) {
      var extra = el("p", {className: "extra"});
      if (sources.length) {
        extra.appendChild(document.createTextNode(kind === "adviser" ? "Guidance used: " : "Answered from: "));
        sources.forEach(function (source, i) {
          if (i) extra.appendChild(document.createTextNode(", "));
          var href = source.url ? safeHref(source.url) : null;
          if (!href && source.slug) href = safeHref("/guidance/" + encodeURIComponent(source.slug));
          var title = String(source.title || source.slug || "guidance page");
          extra.appendChild(href ? el("a", {href: href, target: "_blank", rel: "noopener noreferrer", text: title})
                                 : document.createTextNode(title));
        });
      } else {
        extra.appendChild(document.createTextNode("No guidance page matched well enough."));
      }
      if (typeof entry.score === "number") {
        extra.appendChild(document.createTextNode(" · retrieval score " + entry.score.toFixed(2)));
      }
      children.push(extra);
    }
    return el("li", {className: "msg msg-" + kind}, children);
  }

  function startCase(root) {
    var caseId = root.getAttribute("data-case-id");
    var base = API + "/cases/" + encodeURIComponent(caseId);
    var outcomes = (root.getAttribute("data-outcomes") || "").split(",").filter(Boolean);
    var state = {data: null, shown: [], notes: -1, audit: -1, detailsSig: null, advisersSig: null};

    var statusLine = $("case-status"), transcript = $("transcript");
    var replyForm = $("reply-form"), replyText = $("reply-text"), replyHint = $("reply-hint");
    var claimBox = $("claim-box"), claimButton = $("claim");
    var assignForm = $("assign-form"), assignTo = $("assign-to");
    var closeForm = $("close-form"), closeOutcome = $("close-outcome");
    var transferForm = $("transfer-form"), transferTo = $("transfer-to"), transferNote = $("transfer-note");
    var transferNotice = $("transfer-notice"), tagBox = $("case-tags"), tagStatus = $("tags-status");
    var noteForm = $("note-form"), noteText = $("note-text");
    var actionsNote = $("actions-note");
    var suggestList = $("suggestions"), suggestStatus = $("suggest-status");
    var closeConfirm = $("close-confirm");
    var used = [];  // the suggestions put in the reply box since the last reply: {slug, anchor, url}
    function usedHas(slug, anchor) { return used.some(function (u) { return u.slug === slug && u.anchor === anchor; }); }

    outcomes.forEach(function (o) { closeOutcome.appendChild(el("option", {value: o, text: outcomeLabel(o)})); });

    // --- rendering

    function renderTranscript(entries, c) {
      var shown = state.shown;
      var prefixSame = entries.length >= shown.length && shown.every(function (sig, i) {
        return entrySignature(entries[i]) === sig;
      });
      if (prefixSame && entries.length === shown.length) return;
      var nearBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
      var quietly = !prefixSame || shown.length === 0;  // a whole transcript is not read out; new messages are
      if (quietly) {
        transcript.setAttribute("aria-live", "off");
        setTimeout(function () { transcript.setAttribute("aria-live", "polite"); }, 1000);
      }
      if (!prefixSame) {
        transcript.setAttribute("aria-busy", "true");
        while (transcript.firstChild) transcript.removeChild(transcript.firstChild);
        shown = state.shown = [];
      }
      entries.slice(shown.length).forEach(function (entry) {
        transcript.appendChild(transcriptEntry(entry, c));
        shown.push(entrySignature(entry));
      });
      transcript.removeAttribute("aria-busy");
      if (nearBottom || !prefixSame) transcript.scrollTop = transcript.scrollHeight;
    }

    function renderDetails(c) {
      var waitingLabel = c.status === "waiting" ? "Waiting" : "Waited";
      var sig = rowSignature(c);
      var dl = $("details");
      if (sig === state.detailsSig) {
        setText(dl.querySelector("[data-field=waiting]"), duration(c.waiting_seconds));
        return;
      }
      state.detailsSig = sig;
      var rows = [
        ["Name", c.person_name || "(not given)"],
        ["Email", c.email || "(not given)"],
        ["Question", c.question || ""],
        ["Channel", channelLabel(c.channel) +
                    (c.channel === "rest" ? " (no live push: your replies reach the person with their next message)" : "")],
        ["Topic", c.topic || "—"],
        ["Opened", timeEl(c.created_at)],
        [waitingLabel, duration(c.waiting_seconds), "waiting"],
        ["Adviser", c.adviser || "nobody yet"]
      ];
      if (c.status === "closed") {
        rows.push(["Closed", timeEl(c.closed_at)]);
        rows.push(["Outcome", outcomeLabel(c.outcome)]);
        rows.push(["Tags", c.tags ? String(c.tags).split(",").join(", ") : "—"]);
        rows.push(["Rating", c.rating ? c.rating + " out of 5" : "not rated yet"]);
      }
      while (dl.firstChild) dl.removeChild(dl.firstChild);
      rows.forEach(function (row) {
        dl.appendChild(el("dt", {text: row[0]}));
        var value = row[1];
        dl.appendChild(el("dd", {"data-field": row[2] || null},
                          [value && typeof value === "object" ? value : String(value === null || value === undefined ? "" : value)]));
      });
    }

    function describeStatus(c) {
      if (c.status === "waiting") {
        return "Waiting for an adviser" + (c.queue_position ? " (number " + c.queue_position + " in the queue)" : "") +
          ". Claim it to let the person know someone is with them.";
      }
      if (c.status === "closed") {
        return "Closed: " + outcomeLabel(c.outcome) + ". The conversation went back to the assistant.";
      }
      if (me && c.adviser_id === me.id) return "With you. The assistant stays silent until you close the case.";
      return "With " + (c.adviser || "another adviser") + ".";
    }

    function renderControls(data) {
      var c = data.case;
      var open = c.status !== "closed";
      statusLine.className = "case-status " + c.status;
      setText(statusLine, describeStatus(c));
      claimBox.hidden = c.status !== "waiting";
      replyForm.hidden = !(open && data.may_act);
      closeForm.hidden = !(open && data.may_act);
      setText(replyHint, (c.status === "waiting" ? "Ctrl+Enter sends. Replying claims the case." : "Ctrl+Enter sends.") +
              " Type / and a few letters for a saved reply.");
      var advisers = data.advisers || [];
      assignForm.hidden = !(open && advisers.length);
      var advisersSig = JSON.stringify(advisers);
      if (advisersSig !== state.advisersSig) {
        state.advisersSig = advisersSig;
        var selected = assignTo.value;
        while (assignTo.firstChild) assignTo.removeChild(assignTo.firstChild);
        advisers.forEach(function (a) {
          assignTo.appendChild(el("option", {value: a.id, text: String(a.name) + (me && a.id === me.id ? " (me)" : "")}));
        });
        if (selected) assignTo.value = selected;
      }
      renderTransfer(data);
      renderTags(data);
      var note = "";
      if (!open) note = "This case is closed; nothing more to do here.";
      else if (!data.may_act) note = "Another adviser has this case" + (c.adviser ? " (" + c.adviser + ")" : "") + ".";
      setText(actionsNote, note);
      actionsNote.hidden = !note;
    }

    // --- handing over: the form, and the notice of the last handover
    function renderTransfer(data) {
      var c = data.case, open = c.status !== "closed";
      transferForm.hidden = !(open && data.may_act);
      var options = (c.status === "assigned" ? [{id: "queue", name: "Back to the queue"}] : [])
        .concat((data.colleagues || []).map(function (a) {
          return {id: a.id, name: String(a.name) + (a.available ? " (available)" : " (away)")};
        }));
      var sig = JSON.stringify(options);
      if (sig !== state.transferSig) {
        state.transferSig = sig;
        var selected = transferTo.value;
        while (transferTo.firstChild) transferTo.removeChild(transferTo.firstChild);
        options.forEach(function (o) { transferTo.appendChild(el("option", {value: o.id, text: o.name})); });
        if (selected && options.some(function (o) { return String(o.id) === selected; })) transferTo.value = selected;
      }
      var t = data.transfer, text = "";
      if (t && open) {
        var said = t.note ? ": \u201c" + String(t.note) + "\u201d" : ".";
        if (c.status === "assigned" && me && t.to_id === me.id && c.adviser_id === me.id) {
          text = String(t.from) + " handed this case to you" + said;
        } else if (c.status === "waiting" && t.to_id === null) {
          text = String(t.from) + " handed this case back to the queue" + said;
        } else if (c.status === "assigned" && t.to_id === c.adviser_id) {
          text = String(t.from) + " handed this case to " + String(t.to) + said;
        }
      }
      setText(transferNotice, text);
      transferNotice.hidden = !text;
    }

    // --- tags: chosen from the supervisors' list, saved as soon as one is ticked or unticked
    function renderTags(data) {
      var c = data.case, open = c.status !== "closed";
      var editable = (open && data.may_act) || (!open && me && me.role === "supervisor");
      var chosen = String(c.tags || "").split(",").filter(Boolean);
      var offered = (data.tag_list || []).slice();
      chosen.forEach(function (t) { if (offered.indexOf(t) < 0) offered.push(t); });  // a retired tag it still has
      var sig = JSON.stringify([offered, chosen, editable]);
      if (sig === state.tagsSig || state.tagging) return;
      state.tagsSig = sig;
      while (tagBox.firstChild) tagBox.removeChild(tagBox.firstChild);
      if (!offered.length) {
        tagBox.appendChild(el("p", {className: "hint"}, [
          "There are no tags to choose from yet. ",
          me && me.role === "supervisor" ? el("a", {href: "/console/tags", text: "Make the list of tags"}) :
            "A supervisor keeps the list."]));
        return;
      }
      offered.forEach(function (name, i) {
        var id = "tag-" + i;
        var box = el("input", {type: "checkbox", id: id, value: name, checked: chosen.indexOf(name) >= 0,
                               disabled: !editable || (data.tag_list || []).indexOf(name) < 0 && chosen.indexOf(name) < 0});
        box.addEventListener("change", saveTags);
        tagBox.appendChild(el("span", {className: "tag-choice"}, [box, el("label", {"for": id, text: name})]));
      });
    }

    function saveTags() {
      var tags = Array.prototype.filter.call(tagBox.querySelectorAll("input[type=checkbox]"), function (b) {
        return b.checked;
      }).map(function (b) { return b.value; });
      showError($("tags-error"), null);
      state.tagging = true;
      api("POST", base + "/tags", {tags: tags}).then(function () {
        setText(tagStatus, tags.length ? "Tags saved: " + tags.join(", ") + "." : "Tags saved: none.");
      }, function (error) {
        showError($("tags-error"), error);
      }).then(function () { state.tagging = false; state.tagsSig = null; poller.now(); });
    }

    function renderList(list, items, key, build) {
      if (items.length === state[key]) return;
      state[key] = items.length;
      while (list.firstChild) list.removeChild(list.firstChild);
      items.forEach(function (item) { list.appendChild(build(item)); });
    }

    function render(data) {
      state.data = data;
      var c = data.case;
      renderControls(data);
      renderDetails(c);
      showError($("transcript-error"), data.transcript_error
        ? new ApiError("The conversation could not be loaded: " + data.transcript_error) : null);
      renderTranscript(data.transcript || [], c);
      renderList($("notes"), data.notes || [], "notes", function (n) {
        return el("li", {}, [el("span", {className: "sub"}, [String(n.adviser || "adviser"), ", ", timeEl(n.at)]),
                             el("span", {className: "text", text: String(n.text || "")})]);
      });
      if (!(data.notes || []).length && !$("notes").firstChild) {
        $("notes").appendChild(el("li", {className: "empty", text: "No notes yet."}));
      }
      renderList($("audit"), data.audit || [], "audit", function (a) {
        return el("li", {}, [timeEl(a.at), " ", String(a.action || ""), a.detail ? " (" + a.detail + ")" : "",
                             a.adviser ? " by " + a.adviser : ""]);
      });
    }

    // --- suggested guidance: fetched again only when the person has written something new

    function suggestionKey(data) {
      var c = data.case;
      var latest = (data.transcript || []).filter(function (e) {
        return e.kind === "user" && (e.at || 0) >= c.created_at;
      }).map(function (e) { return e.text; });
      return JSON.stringify([c.question, latest]);
    }

    function useSuggestion(s) {
      var title = String(s.page_title || "") + (s.heading ? " \u203a " + s.heading : "");
      var block = String(s.excerpt || "") + "\n\nSource: [" + title.replace(/[[\]]/g, "") + "](" + s.url + ")";
      var before = replyText.value.replace(/\s+$/, "");
      replyText.value = before ? before + "\n\n" + block : block;
      if (!used.some(function (u) { return u.slug === s.slug && u.anchor === s.anchor; })) {
        used.push({slug: s.slug, anchor: s.anchor, url: s.url});
      }
      replyText.focus();
      replyText.setSelectionRange(replyText.value.length, replyText.value.length);
      setText(suggestStatus, "Added \u201c" + title + "\u201d to your reply. Edit it, then press Send reply.");
    }

    function suggestionItem(s, i) {
      var title = String(s.page_title || "") + (s.heading ? " \u203a " + s.heading : "");
      var href = safeHref(s.url);
      var use = el("button", {type: "button", className: "secondary", "data-use": i,
                              "aria-label": "Use in reply: " + title, text: "Use"});
      use.hidden = replyForm.hidden;
      use.addEventListener("click", function () { useSuggestion(s); });
      return el("li", {}, [
        el("h3", {text: title}),
        el("p", {className: "excerpt", text: String(s.excerpt || "").replace(/\[([^\]]+)\]\([^)]+\)/g, "$1")}),
        el("p", {className: "sub"}, [
          href ? el("a", {href: href, target: "_blank", rel: "noopener noreferrer", text: "Open the section"}) : null,
          " \u00b7 score " + Number(s.score).toFixed(2) +
            (s.above_threshold ? " (the assistant would answer from it)" : " (below the assistant's answer threshold)")
        ]),
        s.query ? el("p", {className: "sub", "data-query": String(s.query),
                           text: "Best match for \u201c" + String(s.query) + "\u201d"}) : null,
        el("div", {className: "form-row"}, [use])
      ]);
    }

    function renderSuggestions(found) {
      while (suggestList.firstChild) suggestList.removeChild(suggestList.firstChild);
      var items = (found && found.suggestions) || [];
      items.forEach(function (s, i) { suggestList.appendChild(suggestionItem(s, i)); });
      if (found && found.error) setText(suggestStatus, found.error);
      else if (!items.length) setText(suggestStatus, "No guidance section matches this case.");
      else setText(suggestStatus, items.length + (items.length === 1 ? " section suggests" : " sections suggest") +
                   " an answer to the person's latest messages.");
    }

    function refreshSuggestions(data) {
      var key = suggestionKey(data);
      Array.prototype.forEach.call(suggestList.querySelectorAll("button[data-use]"), function (b) {
        b.hidden = replyForm.hidden;
      });
      if (key === state.suggestKey || state.suggesting) return;
      state.suggesting = true;
      api("GET", base + "/guidance").then(function (found) {
        state.suggestKey = key;
        renderSuggestions(found);
      }, function (error) {
        if (error.status !== 401) setText(suggestStatus, error.message);
      }).then(function () { state.suggesting = false; });
    }

    // --- closing: a person whose last message has no reply yet is not left without asking
    function unansweredMessage(data) {
      var entries = (data && data.transcript) || [];
      var c = data && data.case;
      for (var i = entries.length - 1; i >= 0; i--) {
        if (entries[i].kind === "adviser") return null;
        if (entries[i].kind === "user" && c && (entries[i].at || 0) >= c.created_at) return entries[i];
      }
      // no adviser has replied at all: the question handed over is itself unanswered
      return c && !entries.some(function (e) { return e.kind === "adviser"; }) ? {text: c.question} : null;
    }

    var poller = Poller(function () {
      if (state.erased) return null;  // the person's data was deleted from this page
      return api("GET", base).then(function (data) {
        render(data);
        refreshSuggestions(data);
      }, function (error) {
        if (!state.data && error.status) showError($("console-error"), error);  // e.g. no such case
        throw error;
      });
    }, $("poll-status"));

    // --- actions

    function act(button, errorNode, path, body) {
      showError(errorNode, null);
      if (button) button.disabled = true;
      return api("POST", base + path, body).then(function (result) {
        poller.now();
        return result;
      }, function (error) {
        showError(errorNode, error);
        throw error;
      }).then(function (result) {
        if (button) button.disabled = false;
        return result;
      }, function (error) {
        if (button) button.disabled = false;
        throw error;
      });
    }

    claimButton.addEventListener("click", function () {
      act(claimButton, $("claim-error"), "/claim").then(function () { replyText.focus(); }, function () {});
    });

    replyForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = replyText.value.trim();
      if (!text) { showError($("reply-error"), new ApiError("Write a reply first.")); replyText.focus(); return; }
      // the guidance used is recorded with the reply: the sections whose link is still in it
      var sources = used.filter(function (u) { return text.indexOf(u.url) >= 0; })
        .map(function (u) { return {slug: u.slug, anchor: u.anchor}; });
      act($("reply-send"), $("reply-error"), "/reply", {text: text, sources: sources}).then(function () {
        used = [];
        replyText.value = "";
        replyText.focus();
      }, function () {});
    });

    wireSavedReplyFinder(replyText, function (reply) {
      return api("POST", base + "/saved-replies/" + encodeURIComponent(reply.id) + "/use").then(function (result) {
        // its guidance link counts as a source of the reply, as a suggestion's does
        if (result.link && !usedHas(reply.guidance_slug, reply.guidance_anchor)) {
          used.push({slug: reply.guidance_slug, anchor: reply.guidance_anchor, url: result.link.url});
        }
        return result.filled;
      });
    });

    replyText.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (replyForm.requestSubmit) replyForm.requestSubmit();
        else replyForm.dispatchEvent(new Event("submit", {cancelable: true}));
      }
    });

    noteForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = noteText.value.trim();
      if (!text) { showError($("note-error"), new ApiError("Write the note first.")); noteText.focus(); return; }
      act(noteForm.querySelector("button"), $("note-error"), "/note", {text: text}).then(function () {
        noteText.value = "";
      }, function () {});
    });

    function closeNow() {
      closeConfirm.hidden = true;
      act($("close-case"), $("close-error"), "/close", {outcome: closeOutcome.value}).then(function () {
        statusLine.focus();
      }, function () {});
    }

    closeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var waiting = unansweredMessage(state.data);
      if (!waiting) { closeNow(); return; }
      var who = state.data.case.person_name ? String(state.data.case.person_name) : "The person";
      var said = String(waiting.text || "");
      setText($("close-confirm-text"), who + "'s last message has no reply yet: \u201c" +
              (said.length > 160 ? said.slice(0, 157) + "\u2026" : said) + "\u201d. Close the case anyway?");
      closeConfirm.hidden = false;
      closeConfirm.focus();
    });
    $("close-anyway").addEventListener("click", closeNow);
    $("close-cancel").addEventListener("click", function () {
      closeConfirm.hidden = true;
      replyText.focus();
    });

    transferForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var to = transferTo.value, note = transferNote.value.trim();
      if (!to) { showError($("transfer-error"), new ApiError("Choose who to hand the case to.")); return; }
      if (!note) {
        showError($("transfer-error"), new ApiError("Write a note for your colleague first."));
        transferNote.focus();
        return;
      }
      var label = transferTo.options[transferTo.selectedIndex].text;
      act($("transfer-send"), $("transfer-error"), "/transfer",
          {to: to === "queue" ? null : parseInt(to, 10), note: note}).then(function () {
        transferNote.value = "";
        setText(statusLine, to === "queue" ? "Handed back to the queue." : "Handed to " + label.replace(/ \((available|away)\)$/, "") + ".");
        statusLine.focus();
      }, function () {});
    });

    assignForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var to = parseInt(assignTo.value, 10);
      if (!to) { showError($("assign-error"), new ApiError("Choose an adviser.")); return; }
      act(assignForm.querySelector("button"), $("assign-error"), "/assign", {adviser_id: to}).catch(function () {});
    });

    // --- a supervisor deletes the person's data for them (docs/privacy.md)
    if (me && me.role === "supervisor") {
      var eraseButton = el("button", {type: "button", id: "erase-person", className: "secondary",
                                      text: "Delete this person's data"});
      var eraseError = el("p", {id: "erase-error", className: "error", role: "alert"});
      root.querySelector(".actions").appendChild(el("div", {id: "erase-box"}, [
        el("p", {className: "hint", text: "When the person asks: deletes their whole conversation and every case " +
                                          "of it, with notes and history. This can't be undone."}),
        eraseButton, eraseError]));
      eraseButton.addEventListener("click", function () {
        var c = state.data && state.data.case;
        if (!c) return;
        if (!window.confirm("Delete everything about this person (their conversation, this case and any other " +
                            "case of theirs, with notes)? This can't be undone.")) return;
        showError(eraseError, null);
        eraseButton.disabled = true;
        api("POST", API + "/erase", {conversation_id: c.conversation_id}).then(function (result) {
          state.erased = true;
          root.hidden = true;
          setText(statusLine, "The person's data has been deleted (" + result.events + " conversation events, " +
                  result.cases + " case(s)). ");
          statusLine.className = "case-status closed";
          statusLine.appendChild(el("a", {href: "/console", text: "Back to the queue"}));
          statusLine.focus();
        }, function (error) {
          eraseButton.disabled = false;
          showError(eraseError, error);
        });
      });
    }

    poller.now();
  }

  // ------------------------------------------------------------------ start

  function start() {
    wireSignOut();
    var queue = $("queue"), single = $("case"), saved = $("saved-replies"), tags = $("tags-page");
    var searching = $("search-page"), bar = $("availability");
    if (!queue && !single && !saved && !tags && !searching && !bar) return;
    (function whoAmI() {
      api("GET", API + "/me").then(function (who) {
        me = who;
        showError($("console-error"), null);
        wireAvailability();
        wireNotifications();
        if (queue) startQueue(queue);
        if (single) startCase(single);
        if (saved) startSavedReplies(saved);
        if (tags) startTags(tags);
        if (searching) startSearch();
      }, function (error) {
        if (error.status !== 401) {
          showError($("console-error"), error);
          setTimeout(whoAmI, 5000);
        }
      });
    }());
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}());
