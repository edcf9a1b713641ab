/*!
 * Mutuals Assistant web chat widget.
 *
 * Embed on any page with one tag (no inline script needed, works under `script-src 'self'`):
 *
 *   <script src="https://web-host/static/widget/widget.js" defer
 *           data-server="https://rasa-host:5005"    the Rasa server (socket.io at /socket.io)
 *           data-title="Mutuals Assistant"          the panel's heading
 *           data-color="#0b5c4a"                    accent colour (darkened if needed for contrast)
 *           data-welcome="Hello! Ask me ..."        first message shown in a new conversation
 *           data-starters="What is ...?|How do I ...?"  optional: questions offered as buttons under it
 *           data-path="/socket.io"                  optional: the socket.io path on the server
 *           data-open="true"></script>              optional: start with the panel open
 *           (data-reopen="<token>": set by /chat/reopen/<token>, the link in a reply email)
 *
 * It loads widget.css, the shared markdown renderer (../shared/markdown.js, which the adviser
 * console uses too) and the vendored socket.io client from the same folder tree as itself.
 * Every piece of text it shows is put in the page with text nodes; it never parses HTML.
 * The protocol is documented in bot/channels/socketio.py.
 */
(function () {
  "use strict";

  var PREFIX = "mutuals-widget";
  var STORAGE_KEY = PREFIX + ":session";
  var OPEN_KEY = PREFIX + ":open";
  var UNREAD_KEY = PREFIX + ":unread";
  var FEEDBACK = [["Yes", "/feedback_helpful", "Yes, this helped"], ["No", "/feedback_unhelpful", "No, this didn't help"]];
  var SMALL = "(max-height: 34em)"; // 400 % zoom, a phone held sideways: the conversation comes first
  var FULL = "(max-width: 30rem), " + SMALL; // where the open panel covers the whole page (widget.css)
  var WAIT_MS = 45000;

  // ------------------------------------------------------------------ markdown
  // The assistant's and advisers' messages are rendered by the one renderer the adviser console
  // uses too (../shared/markdown.js, window.MutualsMarkdown), so both show a message the same way.
  // The widget fetches it from beside itself before it starts; should that fail, every message is
  // shown as plain text.
  var PLAIN = {
    renderMessage: function (text) {
      var fragment = document.createDocumentFragment();
      fragment.appendChild(el("p", null, String(text == null ? "" : text)));
      return { fragment: fragment, source: null };
    },
    linkify: function (text, parent) {
      parent.appendChild(document.createTextNode(text));
      return parent;
    }
  };
  var markdown = PLAIN;

  // ------------------------------------------------------------------ colours (WCAG)
  function parseColor(value) {
    var m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || "").trim());
    if (!m) return null;
    var hex = m[1].length === 3 ? m[1].replace(/(.)/g, "$1$1") : m[1];
    return [0, 2, 4].map(function (i) { return parseInt(hex.slice(i, i + 2), 16); });
  }
  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }
  // the colour, darkened until white text on it (and it on white) reaches 4.5:1
  function accessibleAccent(value) {
    var rgb = parseColor(value) || [11, 92, 74];
    var white = [255, 255, 255];
    for (var step = 0; step < 40 && contrast(rgb, white) < 4.5; step++) {
      rgb = rgb.map(function (v) { return Math.floor(v * 0.93); });
    }
    return "#" + rgb.map(function (v) { return ("0" + v.toString(16)).slice(-2); }).join("");
  }

  // ------------------------------------------------------------------ the widget
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.appendChild(document.createTextNode(text));
    return node;
  }

  function storage(kind) {
    try { var s = window[kind]; s.getItem("x"); return s; } catch (e) { return null; }
  }

  function Widget(script) {
    var data = script.dataset || {};
    this.scriptUrl = script.src || location.href;
    this.base = new URL(".", this.scriptUrl).href;                 // .../static/widget/
    this.linkBase = new URL("/", this.scriptUrl).href;              // the web server
    this.server = data.server || new URL(this.scriptUrl).origin;
    this.path = data.path || "/socket.io";
    this.title = data.title || "Mutuals Assistant";
    this.welcome = data.welcome || "";
    this.starters = (data.starters || "").split("|").map(function (q) { return q.trim(); })
      .filter(Boolean).slice(0, 4);
    this.maxChars = parseInt(data.maxChars, 10) || 2000;
    this.accent = accessibleAccent(data.color);
    this.local = storage("localStorage");
    this.sessionStore = storage("sessionStorage");
    this.socket = null;
    this.sessionId = this.local ? this.local.getItem(STORAGE_KEY) : null;
    // the link in a reply email (/chat/reopen/<token>): the server joins the conversation it was made for
    this.reopen = data.reopen || "";
    this.shown = [];          // keys of the server's messages on screen, in order
    this.feedbackCount = 0;
    this.waitTimer = null;
    this.everConnected = false;
    this.build();
    this.loadCss();
    // a message that came while the panel was closed is still flagged after a reload, or on another page
    if (this.sessionId && this.local && this.local.getItem(UNREAD_KEY) === "1") this.unread.hidden = false;
    if (data.open === "true" || (this.sessionStore && this.sessionStore.getItem(OPEN_KEY) === "1")) {
      this.open(false);
    } else if (this.sessionId) {
      this.connect(); // a conversation is under way: hear replies and advisers' messages
    }
  }

  Widget.prototype.build = function () {
    var root = this.root = el("div", "mw-root");
    root.hidden = true; // until widget.css has loaded
    root.style.setProperty("--mw-accent", this.accent);

    var launcher = this.launcher = el("button", "mw-launcher");
    launcher.type = "button";
    launcher.id = PREFIX + "-launcher";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", PREFIX + "-panel");
    launcher.setAttribute("aria-haspopup", "dialog");
    var icon = el("span", "mw-launcher-icon");
    icon.setAttribute("aria-hidden", "true");
    launcher.appendChild(icon);
    launcher.appendChild(el("span", "mw-launcher-text", "Ask a question"));
    this.unread = el("span", "mw-unread", "(new message)");
    this.unread.hidden = true;
    launcher.appendChild(this.unread);
    launcher.setAttribute("title", "Chat with " + this.title);
    // room at the end of the page, so what is last on it can be scrolled out from under the launcher
    var spacer = this.spacer = el("div", "mw-spacer");
    spacer.setAttribute("aria-hidden", "true");

    var panel = this.panel = el("section", "mw-panel");
    panel.id = PREFIX + "-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "false");
    panel.setAttribute("aria-labelledby", PREFIX + "-title");

    var header = el("div", "mw-header");
    var heading = el("h2", "mw-title", this.title);
    heading.id = PREFIX + "-title";
    var close = this.closeButton = el("button", "mw-close");
    close.type = "button";
    close.setAttribute("aria-label", "Close chat");
    var x = el("span", null, "\u00d7");
    x.setAttribute("aria-hidden", "true");
    close.appendChild(x);
    header.appendChild(heading);
    header.appendChild(close);

    var status = this.status = el("p", "mw-status");
    status.setAttribute("role", "status");
    status.hidden = true;

    var handoff = this.handoff = el("p", "mw-handoff");
    handoff.setAttribute("role", "status");
    handoff.hidden = true;

    var log = this.log = el("div", "mw-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-relevant", "additions");
    log.setAttribute("aria-label", "Conversation");
    log.tabIndex = 0; // so keyboard users can scroll it
    this.welcomeNode = null;

    var typing = this.typing = el("div", "mw-typing");
    typing.hidden = true;
    typing.setAttribute("role", "status");
    var dots = el("span", "mw-dots");
    dots.setAttribute("aria-hidden", "true");
    dots.appendChild(el("span")); dots.appendChild(el("span")); dots.appendChild(el("span"));
    typing.appendChild(dots);
    typing.appendChild(el("span", "mw-vh", this.title + " is typing"));

    var form = this.form = el("form", "mw-form");
    form.setAttribute("novalidate", "");
    var label = el("label", "mw-vh", "Your question");
    label.htmlFor = PREFIX + "-input";
    var input = this.input = el("textarea", "mw-input");
    input.id = PREFIX + "-input";
    input.rows = 1;
    input.maxLength = this.maxChars;
    input.placeholder = "Type your question";
    input.setAttribute("autocomplete", "off");
    input.setAttribute("enterkeyhint", "send");
    var send = this.sendButton = el("button", "mw-send", "Send");
    send.type = "submit";
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);

    var note = el("p", "mw-note", "General guidance, not legal or financial advice. ");
    // "Delete my data": asks to confirm, then erases the conversation on the server (docs/privacy.md)
    var forget = this.forgetButton = el("button", "mw-forget", "Delete my data");
    forget.type = "button";
    forget.setAttribute("aria-expanded", "false");
    forget.setAttribute("aria-controls", PREFIX + "-forget");
    note.appendChild(forget);
    var confirmBox = this.confirmBox = el("div", "mw-confirm");
    confirmBox.id = PREFIX + "-forget";
    confirmBox.hidden = true;
    confirmBox.setAttribute("role", "group");
    confirmBox.setAttribute("aria-labelledby", PREFIX + "-forget-text");
    var question = el("p", "mw-confirm-text", "Delete this conversation and any request to talk to an " +
      "adviser (with the name and email you gave)? This can't be undone.");
    question.id = PREFIX + "-forget-text";
    var confirmYes = this.confirmYes = el("button", "mw-button mw-confirm-yes", "Yes, delete my data");
    confirmYes.type = "button";
    var confirmNo = this.confirmNo = el("button", "mw-button mw-confirm-no", "Cancel");
    confirmNo.type = "button";
    confirmBox.appendChild(question);
    confirmBox.appendChild(confirmYes);
    confirmBox.appendChild(confirmNo);

    panel.appendChild(header);
    panel.appendChild(status);
    panel.appendChild(handoff);
    panel.appendChild(log);
    panel.appendChild(typing);
    panel.appendChild(confirmBox);
    panel.appendChild(form);
    panel.appendChild(note);
    this.note = note;
    root.appendChild(panel);
    root.appendChild(launcher);
    document.body.appendChild(root);
    document.body.appendChild(spacer);

    var self = this;
    launcher.addEventListener("click", function () { self.open(true); });
    close.addEventListener("click", function () { self.close(); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Tab") { self.keepFocusIn(event); return; }
      if (event.key !== "Escape" && event.key !== "Esc") return;
      event.preventDefault();
      if (!self.confirmBox.hidden) self.hideForget(true); // an open question first, then the panel
      else self.close();
    });
    // Focus Not Obscured (WCAG 2.4.11): what gets focus on the page is scrolled out from under the launcher
    document.addEventListener("focusin", function (event) { // once the browser has scrolled it into view
      (window.requestAnimationFrame || setTimeout)(function () { self.unobscure(event.target); });
    });
    if (window.matchMedia) {
      var small = window.matchMedia(SMALL);
      var place = function () { self.placeNote(small.matches); };
      if (small.addEventListener) small.addEventListener("change", place); else if (small.addListener) small.addListener(place);
      place();
    }
    form.addEventListener("submit", function (event) { event.preventDefault(); self.submit(); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        self.submit();
      }
    });
    input.addEventListener("input", function () { self.fitInput(); });
    forget.addEventListener("click", function () { self.askToForget(); });
    confirmYes.addEventListener("click", function () { self.forget(); });
    confirmNo.addEventListener("click", function () { self.hideForget(true); });
  };

  // at small heights the disclaimer heads the conversation and scrolls away with it; else it is under the box
  Widget.prototype.placeNote = function (small) {
    var note = this.note;
    if (small && note.parentNode !== this.log) this.log.insertBefore(note, this.log.firstChild);
    else if (!small && note.parentNode !== this.panel) this.panel.appendChild(note);
  };

  Widget.prototype.coversPage = function () {
    return !!(window.matchMedia && window.matchMedia(FULL).matches);
  };

  // while the panel covers the whole page, Tab goes round inside it (nothing hidden under it gets focus)
  Widget.prototype.keepFocusIn = function (event) {
    if (!this.coversPage()) return;
    var all = this.panel.querySelectorAll("button, textarea, a[href], [tabindex='0']"), shown = [];
    for (var i = 0; i < all.length; i++) if (!all[i].disabled && all[i].getClientRects().length) shown.push(all[i]);
    if (!shown.length) return;
    var first = shown[0], last = shown[shown.length - 1], at = document.activeElement;
    if (event.shiftKey ? at === first || !this.panel.contains(at) : at === last) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    }
  };

  Widget.prototype.unobscure = function (target) {
    if (!target || !target.getBoundingClientRect || this.root.contains(target) || this.launcher.offsetParent === null) return;
    var cover = this.launcher.getBoundingClientRect(), r = target.getBoundingClientRect();
    if (r.bottom <= cover.top - 4 || r.top >= cover.bottom || r.right <= cover.left || r.left >= cover.right) return;
    window.scrollBy(0, Math.max(0, Math.min(r.bottom - cover.top + 8, r.top - 8)));
  };

  // widget.css is requested as the script starts (with the renderer, see below): shown once it came
  Widget.prototype.loadCss = function () {
    var root = this.root;
    if (styles.loaded) root.hidden = false;
    else styles.then.push(function () { root.hidden = false; });
  };

  Widget.prototype.fitInput = function () {
    var input = this.input;
    var max = parseFloat(window.getComputedStyle(input).maxHeight) || 160; // less at small heights
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 4, max) + "px";
    input.style.overflowY = input.scrollHeight + 4 > max ? "auto" : "hidden";
  };

  Widget.prototype.open = function (moveFocus) {
    this.panel.hidden = false;
    this.panel.setAttribute("aria-modal", this.coversPage() ? "true" : "false");
    this.root.classList.add("mw-open");
    this.launcher.setAttribute("aria-expanded", "true");
    this.unread.hidden = true;
    if (this.local) this.local.removeItem(UNREAD_KEY);
    if (this.sessionStore) this.sessionStore.setItem(OPEN_KEY, "1");
    if (!this.welcomeNode && this.welcome) this.showWelcome();
    this.connect();
    this.scrollDown();
    if (moveFocus) this.input.focus();
  };

  Widget.prototype.close = function () {
    this.panel.hidden = true;
    this.root.classList.remove("mw-open");
    this.launcher.setAttribute("aria-expanded", "false");
    if (this.sessionStore) this.sessionStore.removeItem(OPEN_KEY);
    this.launcher.focus();
  };

  Widget.prototype.isOpen = function () { return !this.panel.hidden; };

  Widget.prototype.showWelcome = function () {
    var node = this.welcomeNode = this.messageNode({ text: this.welcome, sender: { kind: "bot" } });
    node.classList.add("mw-welcome");
    // a new conversation: a few questions to start with, sent as if typed (they go with the first message)
    if (!this.sessionId && this.starters.length) {
      node.appendChild(this.buttonsNode(this.starters.map(function (q) { return { title: q }; }), "Questions to start with"));
    }
    this.log.insertBefore(node, this.note.parentNode === this.log ? this.note.nextSibling : this.log.firstChild);
  };

  // ---------------------------------------------------------------- connection
  Widget.prototype.setStatus = function (state, text) {
    this.root.setAttribute("data-connection", state);
    if (text) {
      this.status.textContent = text;
      this.status.hidden = false;
    } else {
      this.status.hidden = true;
      this.status.textContent = "";
    }
  };

  Widget.prototype.connect = function () {
    if (this.socket || this.loadingClient) return;
    var self = this;
    if (typeof window.io === "function") { this.startSocket(); return; }
    this.loadingClient = true;
    this.setStatus("connecting", "Connecting\u2026");
    var s = document.createElement("script");
    s.src = new URL("../vendor/socket.io.min.js", this.base).href;
    s.async = true;
    s.addEventListener("load", function () { self.loadingClient = false; self.startSocket(); });
    s.addEventListener("error", function () {
      self.loadingClient = false;
      self.setStatus("offline", "The chat could not be loaded. Please reload the page to try again.");
    });
    document.head.appendChild(s);
  };

  Widget.prototype.startSocket = function () {
    var self = this;
    if (this.socket) return;
    this.setStatus("connecting", "Connecting\u2026");
    var socket = this.socket = window.io(this.server, {
      path: this.path,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
      timeout: 10000
    });
    socket.on("connect", function () {
      self.everConnected = true;
      self.setStatus("connecting", "Connecting\u2026");
      socket.emit("session_request", self.reopen ? { session_id: null, reopen: self.reopen }
                                                 : { session_id: self.sessionId });
    });
    socket.on("session_confirm", function (id) {
      var sessionId = typeof id === "string" ? id : id && id.session_id;
      if (!sessionId) return;
      self.sessionId = sessionId;
      self.reopen = "";  // joined: a reconnect asks for the session itself
      if (self.local) self.local.setItem(STORAGE_KEY, sessionId);
      self.setStatus("online", "");
      socket.emit("history_request", { session_id: sessionId });
    });
    socket.on("history", function (data) {
      var messages = (data && data.messages) || [];
      self.showHistory(messages);
      self.sendAgainIfLost(messages);
      // an open handoff's status line, after a reload or a reconnect (or its end, if missed)
      if (data && data.handoff) self.handleEvent(data.handoff, {});
      else if (/^(waiting|adviser)$/.test(self.root.getAttribute("data-handoff") || "")) {
        self.handleEvent({ type: "handoff", status: "assistant", text: "" }, {});
      }
    });
    socket.on("bot_uttered", function (message) { self.receive(message); });
    socket.on("data_deleted", function (data) { self.forgotten(data); });
    socket.on("disconnect", function (reason) {
      self.stopWaiting();
      if (reason === "io client disconnect") return;
      self.setStatus("reconnecting", "Connection lost. Reconnecting\u2026");
    });
    socket.on("connect_error", function () {
      self.stopWaiting();
      self.setStatus("offline", self.everConnected
        ? "Connection lost. Reconnecting\u2026"
        : "Can't reach the assistant right now. Trying again\u2026");
    });
  };

  Widget.prototype.ready = function () {
    return !!(this.socket && this.socket.connected && this.sessionId &&
              this.root.getAttribute("data-connection") === "online");
  };

  // ---------------------------------------------------------------- messages
  // each message carries an id of its own, so sending it again after a lost connection is safe:
  // the server answers an id it already has from the stored turn instead of running it twice
  function newMessageId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    var out = "w-";
    for (var i = 0; i < bytes.length; i++) out += ("0" + bytes[i].toString(16)).slice(-2);
    return out;
  }

  function keyOf(message) {
    var kind = (message.sender && message.sender.kind) || "bot";
    return (kind === "user" ? "u:" : "b:") + String(message.text || "").trim();
  }

  Widget.prototype.senderLabel = function (sender) {
    var kind = sender && sender.kind;
    if (kind === "user") return "You";
    if (kind === "adviser") return (sender.name ? sender.name : "Adviser") + " (adviser)";
    return (sender && sender.name) || this.title;
  };

  Widget.prototype.messageNode = function (message) {
    var sender = message.sender || { kind: "bot" };
    var kind = sender.kind === "user" || sender.kind === "adviser" ? sender.kind : "bot";
    var node = el("div", "mw-msg mw-" + kind);
    var who = el("p", kind === "adviser" ? "mw-who" : "mw-who mw-vh", this.senderLabel(sender));
    node.appendChild(who);
    var body = el("div", "mw-body");
    var text = String(message.text || "");
    if (kind === "user") {
      body.appendChild(markdown.linkify(text, el("p")));
    } else {
      var shown = markdown.renderMessage(text, { base: this.linkBase }); // the "Source:" line a paragraph of its own
      body.appendChild(shown.fragment);
      var source = shown.source;
    }
    node.appendChild(body);
    // an answer from the guidance asks whether it helped (recorded as the feedback intents)
    if (source && kind === "bot" && /\/guidance\//.test(source.href) && !message.rated) {
      node.appendChild(this.feedbackNode());
    }
    return node;
  };

  Widget.prototype.feedbackNode = function () {
    var self = this;
    var box = el("div", "mw-feedback");
    box.setAttribute("role", "group");
    var ask = el("span", "mw-feedback-q", "Did this help?");
    ask.id = PREFIX + "-fb-" + (++this.feedbackCount);
    box.setAttribute("aria-labelledby", ask.id);
    box.appendChild(ask);
    FEEDBACK.forEach(function (f) {
      var button = el("button", "mw-feedback-b", f[0]);
      button.type = "button";
      button.setAttribute("aria-label", f[2]);
      button.addEventListener("click", function () {
        if (self.send(f[1], f[2])) {
          box.parentNode.removeChild(box);
          self.input.focus();
        }
      });
      box.appendChild(button);
    });
    return box;
  };

  Widget.prototype.buttonsNode = function (buttons, label) {
    var self = this;
    var group = el("div", "mw-buttons");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", label || "Suggested replies");
    buttons.forEach(function (b) {
      if (!b || !b.title) return;
      var button = el("button", "mw-button", String(b.title));
      button.type = "button";
      button.addEventListener("click", function () {
        if (self.send(String(b.payload || b.title), String(b.title))) self.input.focus();
      });
      group.appendChild(button);
    });
    return group;
  };

  Widget.prototype.clearButtons = function () {
    var groups = this.log.querySelectorAll(".mw-buttons");
    for (var i = 0; i < groups.length; i++) groups[i].parentNode.removeChild(groups[i]);
  };

  Widget.prototype.append = function (message, withButtons) {
    var node = this.messageNode(message);
    if (withButtons && message.buttons && message.buttons.length) node.appendChild(this.buttonsNode(message.buttons));
    this.log.appendChild(node);
    return node;
  };

  // to the end of the conversation; but a long new message is shown from its start
  Widget.prototype.scrollDown = function (node) {
    var log = this.log;
    var end = log.scrollHeight - log.clientHeight;
    if (node && node.offsetHeight > log.clientHeight - 24) {
      var top = node.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop - 12;
      log.scrollTop = Math.min(end, Math.max(0, top));
    } else {
      log.scrollTop = end;
    }
  };

  Widget.prototype.showHistory = function (messages) {
    messages = messages.filter(function (m) { return m && (m.text || (m.buttons && m.buttons.length)); });
    var keys = messages.map(keyOf);
    var shown = this.shown;
    var prefix = shown.length <= keys.length && shown.every(function (k, i) { return keys[i] === k; });
    var start = prefix ? shown.length : 0;
    if (!prefix) {
      // what is on screen differs from the server's record: show the record instead
      this.log.setAttribute("aria-busy", "true");
      var nodes = this.log.querySelectorAll(".mw-msg:not(.mw-welcome)");
      for (var i = 0; i < nodes.length; i++) nodes[i].parentNode.removeChild(nodes[i]);
      this.shown = [];
    }
    if (start < messages.length) this.clearButtons();
    var rated = FEEDBACK.map(function (f) { return "u:" + f[2]; });
    for (var j = start; j < messages.length; j++) {
      if (j + 1 < keys.length && rated.indexOf(keys[j + 1]) !== -1) messages[j].rated = true;
      this.append(messages[j], j === messages.length - 1 && keys[j].charAt(0) === "b");
      this.shown.push(keys[j]);
    }
    this.log.removeAttribute("aria-busy");
    this.scrollDown();
  };

  // after a reconnect: the last message sent, still unanswered, that the server's record lacks
  // (the connection or the server was lost before it arrived) is sent again, with the same id
  Widget.prototype.sendAgainIfLost = function (history) {
    var pending = this.unanswered;
    if (!pending || !this.socket) return;
    this.unanswered = null;
    var arrived = history.some(function (m) { return m && m.message_id === pending.message_id; });
    if (arrived) return; // the history shows it, and any answer it had
    var shown = { text: pending.button_title || pending.message, sender: { kind: "user" } };
    this.append(shown, false);
    this.shown.push(keyOf(shown));
    pending.session_id = this.sessionId;
    this.unanswered = pending;
    this.socket.emit("user_uttered", pending);
    this.startWaiting();
  };

  Widget.prototype.receive = function (message) {
    if (!message || typeof message !== "object") return;
    if (message.event) this.handleEvent(message.event, message);
    if (!message.text && !(message.buttons && message.buttons.length)) return;
    // an adviser's reply that would be emailed if the person had left: this chat has it
    if (message.reply_id && this.socket) this.socket.emit("reply_seen", { reply_id: String(message.reply_id) });
    this.unanswered = null;
    this.stopWaiting();
    this.clearButtons();
    var node = this.append(message, true);
    this.shown.push(keyOf(message));
    this.scrollDown(node);
    if (!this.isOpen()) {
      this.unread.hidden = false;
      if (this.local) this.local.setItem(UNREAD_KEY, "1");
    }
  };

  // Events about the conversation (a later issue sends handoff events): shown in the status
  // line under the header, and passed on to the page as a "mutuals-widget:event" DOM event.
  Widget.prototype.handleEvent = function (event, message) {
    var detail = typeof event === "string" ? { type: event } : (event && typeof event === "object" ? event : {});
    var name = (message.sender && message.sender.name) || detail.adviser || detail.name || "An adviser";
    var state = String(detail.status || detail.state || detail.type || "");
    var text = typeof detail.text === "string" ? detail.text : typeof detail.message === "string" ? detail.message : "";
    if (!text) {
      if (/request|wait|queue|pending/i.test(state)) text = "Waiting for an adviser to join\u2026";
      else if (/accept|join|start|connect/i.test(state)) text = name + " (adviser) has joined the conversation.";
      else if (/end|close|leave|left|cancel|resolve/i.test(state)) text = "The adviser has left the conversation.";
    }
    this.root.setAttribute("data-handoff", state.replace(/[^a-z_-]/gi, "").toLowerCase() || "unknown");
    if (text) {
      this.handoff.textContent = text;
      this.handoff.hidden = false;
    } else {
      this.handoff.hidden = true;
    }
    try {
      this.root.dispatchEvent(new CustomEvent(PREFIX + ":event", { bubbles: true, detail: detail }));
    } catch (e) { /* old browsers */ }
  };

  Widget.prototype.startWaiting = function () {
    var self = this;
    // handed over: no "typing" dots, as nobody is typing (an adviser replies when they can)
    if (/^(waiting|adviser)$/.test(this.root.getAttribute("data-handoff") || "")) return;
    this.typing.hidden = false;
    clearTimeout(this.waitTimer);
    this.waitTimer = setTimeout(function () { self.stopWaiting(); }, WAIT_MS);
    this.scrollDown();
  };

  Widget.prototype.stopWaiting = function () {
    clearTimeout(this.waitTimer);
    this.typing.hidden = true;
  };

  // send a message (or a button's payload with its title); false if it could not go
  Widget.prototype.send = function (message, buttonTitle) {
    if (!this.ready()) {
      this.setStatus(this.root.getAttribute("data-connection") || "offline",
        "Not connected, so your message was not sent. Reconnecting\u2026");
      return false;
    }
    var shownText = buttonTitle || message;
    var data = { session_id: this.sessionId, message: message, message_id: newMessageId() };
    if (buttonTitle) data.button_title = buttonTitle;
    this.unanswered = data;
    this.clearButtons();
    this.append({ text: shownText, sender: { kind: "user" } }, false);
    this.shown.push(keyOf({ text: shownText, sender: { kind: "user" } }));
    this.socket.emit("user_uttered", data);
    this.startWaiting();
    return true;
  };

  Widget.prototype.submit = function () {
    var text = this.input.value.trim();
    if (!text) { this.input.focus(); return; }
    if (this.send(text)) {
      this.input.value = "";
      this.fitInput();
    }
    this.input.focus();
  };

  // ---------------------------------------------------------------- delete my data
  Widget.prototype.askToForget = function () {
    this.confirmBox.hidden = false;
    this.forgetButton.setAttribute("aria-expanded", "true");
    this.confirmNo.focus(); // the safe choice first
  };

  Widget.prototype.hideForget = function (focusBack) {
    this.confirmBox.hidden = true;
    this.confirmYes.disabled = false;
    this.forgetButton.setAttribute("aria-expanded", "false");
    if (focusBack) this.forgetButton.focus();
  };

  Widget.prototype.forget = function () {
    if (!this.ready()) {
      this.setStatus(this.root.getAttribute("data-connection") || "offline",
        "Not connected, so nothing was deleted. Reconnecting\u2026");
      return;
    }
    this.confirmYes.disabled = true;
    this.socket.emit("delete_my_data", { session_id: this.sessionId, confirm: true });
  };

  // the server erased the conversation (in this tab or another): forget it here too, start anew
  Widget.prototype.forgotten = function (data) {
    this.confirmYes.disabled = false;
    if (!data || data.erased !== true) {
      this.status.textContent = (data && data.error) || "Sorry, your data could not be deleted just now.";
      this.status.hidden = false;
      return;
    }
    this.hideForget(false);
    if (this.local) { this.local.removeItem(STORAGE_KEY); this.local.removeItem(UNREAD_KEY); }
    this.sessionId = null;
    this.unanswered = null;
    this.stopWaiting();
    var nodes = this.log.querySelectorAll(".mw-msg:not(.mw-welcome)");
    for (var i = 0; i < nodes.length; i++) nodes[i].parentNode.removeChild(nodes[i]);
    this.shown = [];
    this.handoff.hidden = true;
    this.handoff.textContent = "";
    this.root.removeAttribute("data-handoff");
    var notice = this.messageNode({ text: "Your conversation and any adviser request have been deleted. " +
      "Anything you type now starts a new conversation.", sender: { kind: "bot" } });
    notice.classList.add("mw-deleted");
    this.log.appendChild(notice);
    if (this.socket) this.socket.emit("session_request", { session_id: null });
    this.input.focus();
  };

  // ---------------------------------------------------------------- start
  function currentScript() {
    if (document.currentScript) return document.currentScript;
    var scripts = document.querySelectorAll("script[src*='widget.js']");
    return scripts[scripts.length - 1] || null;
  }

  var api = window.MutualsWidget = window.MutualsWidget || {};
  api.accessibleAccent = accessibleAccent;
  api.contrast = function (a, b) { return contrast(parseColor(a), parseColor(b)); };

  var script = currentScript();
  var styles = { loaded: false, then: [] };

  function loadStyles(href) {
    if (document.querySelector("link[data-mutuals-widget]")) { styles.loaded = true; return; }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    link.setAttribute("data-mutuals-widget", "");
    var done = function () {
      styles.loaded = true;
      styles.then.forEach(function (show) { show(); });
      styles.then = [];
    };
    link.addEventListener("load", done);
    link.addEventListener("error", done);
    document.head.appendChild(link);
  }

  // the shared renderer (already there on a page that loaded it itself), then `then`
  function loadRenderer(href, then) {
    var use = function () {
      markdown = window.MutualsMarkdown || PLAIN;
      api.renderMarkdown = markdown.renderMarkdown;
      api.splitSource = markdown.splitSource;
      api.safeUrl = markdown.safeUrl;
      then();
    };
    if (window.MutualsMarkdown) { use(); return; }
    var s = document.createElement("script");
    s.src = href;
    s.async = true;
    s.addEventListener("load", use);
    s.addEventListener("error", use); // plain text, but a working chat
    document.head.appendChild(s);
  }

  function start() {
    if (api.instance || !script) return;
    api.instance = new Widget(script);
  }
  if (script) {
    var here = script.src || location.href;
    loadStyles(new URL("widget.css", here).href); // both at once: the launcher waits for neither in turn
    loadRenderer(new URL("../shared/markdown.js", here).href, function () {
      if (document.body) start();
      else document.addEventListener("DOMContentLoaded", start);
    });
  }
})();
