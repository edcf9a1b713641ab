/* The case page's "Email to the person" box (bot/console/_email.py): whether email is on for this
 * case, and each adviser reply's email: waiting, seen in the chat (not emailed), sent, or failed
 * and why. Refreshed every 5 seconds; redrawn only when something changed. */
(function () {
  "use strict";
  var box = document.getElementById("email-status");
  var layout = document.getElementById("case");
  if (!box || !layout) return;
  var url = "/console/api/cases/" + encodeURIComponent(layout.getAttribute("data-case-id")) + "/email";
  var stateLine = document.getElementById("email-state");
  var list = document.getElementById("email-notices");
  var last = null;

  function time(seconds) {
    var d = new Date(seconds * 1000);
    var node = document.createElement("time");
    node.setAttribute("datetime", d.toISOString());
    node.textContent = d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) +
      (new Date().toDateString() === d.toDateString() ? "" : " on " + d.toLocaleDateString());
    return node;
  }

  function describe(n) {
    // [label, text, time] for one reply's email
    if (n.status === "sent") return ["Sent", "", n.sent_at];
    if (n.status === "seen") return ["Not needed", "the person saw the reply in the chat", null];
    if (n.status === "failed") return ["Failed", n.error || "", n.updated_at];
    if (n.status === "cancelled") return ["Not sent", n.error || "the reply did not reach the conversation", null];
    if (n.status === "sending") return ["Sending", "", null];
    if (n.attempts > 0) return ["Trying again", n.error || "", n.due_at];
    return ["Queued", "emailed unless the person sees the reply in the chat first, at", n.due_at];
  }

  function render(data) {
    var sig = JSON.stringify(data);
    if (sig === last) return;
    last = sig;
    stateLine.textContent = data.text || "";
    box.setAttribute("data-email", data.state || "");
    while (list.firstChild) list.removeChild(list.firstChild);
    (data.notices || []).forEach(function (n, i) {
      var d = describe(n);
      var item = document.createElement("li");
      item.setAttribute("data-status", n.status);
      var label = document.createElement("strong");
      label.textContent = "Reply " + (i + 1) + ": " + d[0];
      item.appendChild(label);
      if (d[1]) item.appendChild(document.createTextNode(" \u2013 " + d[1]));
      if (d[2]) { item.appendChild(document.createTextNode(" ")); item.appendChild(time(d[2])); }
      list.appendChild(item);
    });
    list.hidden = !(data.notices || []).length;
  }

  function load() {
    fetch(url, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) render(data); })
      .catch(function () { /* the next refresh tries again */ })
      .then(function () { setTimeout(load, 5000); });
  }
  load();
})();
