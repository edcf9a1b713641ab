/*!
 * Mutuals Assistant: the one markdown renderer for the assistant's and advisers' messages.
 *
 * Loaded by the chat widget (widget.js fetches it from ../shared/ beside itself, like its CSS and
 * the vendored socket.io client) and by the adviser console's pages (a script tag before
 * console.js), so an adviser sees a message exactly as the person saw it.
 * Exposes window.MutualsMarkdown: renderMarkdown, renderMessage, splitSource, linkify, safeUrl,
 * linkNode, newTabNote.
 */
(function () {
  "use strict";

  // A deliberately tiny subset: paragraphs, "#" headings (shown as bold lines), "-"/"*"/"1."
  // lists (nested by indentation), **bold**, *italic*, `code`, [links](http...), bare http(s)
  // addresses and \escapes.
  // It builds DOM nodes; text is only ever set through text nodes. Links go only to http(s)
  // addresses (relative ones resolved against options.base) and, for [links](...), mailto:.

  // the absolute address, or null unless it is http(s) (or mailto:, when `mail` is true)
  function safeUrl(href, base, mail) {
    try {
      var url = new URL(href, base || undefined);
      if (url.protocol === "http:" || url.protocol === "https:" || (mail && url.protocol === "mailto:")) {
        return url.href;
      }
    } catch (e) { /* not a URL */ }
    return null;
  }

  function findClosing(text, marker, from) {
    var i = text.indexOf(marker, from);
    while (i !== -1 && text.charAt(i - 1) === "\\") i = text.indexOf(marker, i + 1);
    return i;
  }

  // [text](url) starting at text[i] === "[": returns {label, href, end} or null
  function matchLink(text, i) {
    var depth = 0, j = i;
    for (; j < text.length; j++) {
      var c = text.charAt(j);
      if (c === "\\") { j++; continue; }
      if (c === "[") depth++;
      else if (c === "]" && --depth === 0) break;
    }
    if (j >= text.length || text.charAt(j + 1) !== "(") return null;
    var close = -1, parens = 0;
    for (var k = j + 2; k < text.length; k++) { // balanced parentheses, as in Act_(2014)
      var d = text.charAt(k);
      if (d === "\\") { k++; continue; }
      if (d === "(") parens++;
      else if (d === ")" && parens-- === 0) { close = k; break; }
    }
    if (close === -1) return null;
    var target = text.slice(j + 2, close).trim().split(/\s+/)[0] || "";
    if (target.charAt(0) === "<" && target.charAt(target.length - 1) === ">") target = target.slice(1, -1);
    return { label: text.slice(i + 1, j), href: target, end: close + 1 };
  }

  // a link that opens in a new tab, saying so in words everyone sees
  function linkNode(doc, href) {
    var a = doc.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }
  function newTabNote(doc, a) {
    var hint = doc.createElement("span");
    hint.className = "mw-newtab";
    hint.appendChild(doc.createTextNode(" (opens in a new tab)"));
    a.appendChild(hint);
    return a;
  }
  // a bare address at text[i]: {href, end} or null (trailing punctuation and unmatched ")" stay text)
  var BARE_URL = /^https?:\/\/[^\s<>"]+/i;
  function matchBareUrl(text, i) {
    if (i > 0 && /[\w/@.:-]/.test(text.charAt(i - 1))) return null;
    var m = BARE_URL.exec(text.slice(i, i + 2048));
    if (!m) return null;
    var url = m[0];
    while (/[.,;:!?'*_]$/.test(url) ||
           (url.charAt(url.length - 1) === ")" && url.split("(").length < url.split(")").length)) {
      url = url.slice(0, -1);
    }
    var href = safeUrl(url);
    return href && url.length > 8 ? { text: url, href: href, end: i + url.length } : null;
  }
  // plain text with its bare addresses made links (the person's own messages)
  function linkify(text, parent) {
    var doc = parent.ownerDocument || document, start = 0;
    for (var i = text.indexOf("http"); i !== -1; i = text.indexOf("http", i + 1)) {
      var url = matchBareUrl(text, i);
      if (!url) continue;
      if (i > start) parent.appendChild(doc.createTextNode(text.slice(start, i)));
      var a = linkNode(doc, url.href);
      a.appendChild(doc.createTextNode(url.text));
      parent.appendChild(newTabNote(doc, a));
      start = i = url.end;
    }
    if (start < text.length) parent.appendChild(doc.createTextNode(text.slice(start)));
    return parent;
  }

  function renderInline(text, parent, options) {
    var doc = parent.ownerDocument || document;
    var buffer = "";
    function flush() {
      if (buffer) { parent.appendChild(doc.createTextNode(buffer)); buffer = ""; }
    }
    var i = 0;
    while (i < text.length) {
      var c = text.charAt(i);
      if (c === "\\" && i + 1 < text.length && /[\\`*_[\]()#+\-.!<>]/.test(text.charAt(i + 1))) {
        buffer += text.charAt(i + 1); i += 2; continue;
      }
      if ((c === "*" || c === "_") && text.charAt(i + 1) === c) {
        var end = findClosing(text, c + c, i + 2);
        if (end > i + 2) {
          flush();
          var strong = doc.createElement("strong");
          renderInline(text.slice(i + 2, end), strong, options);
          parent.appendChild(strong);
          i = end + 2; continue;
        }
      }
      if (c === "*" && text.charAt(i + 1) !== " " && text.charAt(i + 1) !== "*") {
        var endEm = findClosing(text, "*", i + 1);
        if (endEm > i + 1 && text.charAt(endEm - 1) !== " ") {
          flush();
          var em = doc.createElement("em");
          renderInline(text.slice(i + 1, endEm), em, options);
          parent.appendChild(em);
          i = endEm + 1; continue;
        }
      }
      if (c === "`") {
        var endCode = text.indexOf("`", i + 1);
        if (endCode > i + 1) {
          flush();
          var code = doc.createElement("code");
          code.appendChild(doc.createTextNode(text.slice(i + 1, endCode)));
          parent.appendChild(code);
          i = endCode + 1; continue;
        }
      }
      if (c === "[" && !(options && options.inLink)) {
        var link = matchLink(text, i);
        if (link) {
          flush();
          var href = safeUrl(link.href, options && options.base, true);
          if (href && href.slice(0, 7) === "mailto:") {
            var mail = doc.createElement("a"); // opens the mail program, not a tab
            mail.href = href;
            renderInline(link.label, mail, { base: options && options.base, inLink: true });
            parent.appendChild(mail);
          } else if (href) {
            var a = linkNode(doc, href);
            renderInline(link.label, a, { base: options && options.base, inLink: true });
            parent.appendChild(newTabNote(doc, a));
          } else {
            // not a web or mail address (javascript:, data:, ...): keep the words, drop the link
            renderInline(link.label, parent, { base: options && options.base, inLink: true });
          }
          i = link.end; continue;
        }
      }
      if ((c === "h" || c === "H") && !(options && options.inLink)) {
        var bare = matchBareUrl(text, i);
        if (bare) {
          flush();
          var b = linkNode(doc, bare.href);
          b.appendChild(doc.createTextNode(bare.text));
          parent.appendChild(newTabNote(doc, b));
          i = bare.end; continue;
        }
      }
      buffer += c; i++;
    }
    flush();
    return parent;
  }

  var LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  var HEADING = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/;

  // markdown -> DocumentFragment. options: {base: URL relative links resolve against}
  function renderMarkdown(text, options) {
    var doc = document;
    var fragment = doc.createDocumentFragment();
    var lines = String(text == null ? "" : text).replace(/\r\n?/g, "\n").split("\n");
    var paragraph = [];
    var lists = []; // stack of {indent, el, ordered}
    var lastItem = null, lastItemText = null;

    function endParagraph() {
      if (!paragraph.length) return;
      var p = doc.createElement("p");
      renderInline(paragraph.join(" "), p, options);
      fragment.appendChild(p);
      paragraph = [];
    }
    function endItem() {
      if (lastItem && lastItemText !== null) renderInline(lastItemText, lastItem.textHolder, options);
      lastItemText = null;
    }
    function endLists() {
      endItem();
      lists = []; lastItem = null;
    }

    lines.forEach(function (line) {
      if (!line.trim()) { endParagraph(); endLists(); return; }
      var m = LIST_ITEM.exec(line);
      if (m) {
        endParagraph();
        endItem();
        var indent = m[1].replace(/\t/g, "    ").length;
        var ordered = /\d/.test(m[2].charAt(0));
        while (lists.length && indent < lists[lists.length - 1].indent) lists.pop();
        var top = lists[lists.length - 1];
        if (top && indent > top.indent + 1 && lastItem) {
          top = null; // a deeper list inside the last item
        } else if (top && top.ordered !== ordered && indent === top.indent) {
          lists.pop(); top = null;
        }
        if (!top) {
          var el = doc.createElement(ordered ? "ol" : "ul");
          if (ordered) {
            var start = parseInt(m[2], 10);
            if (start !== 1) el.start = start;
          }
          if (lists.length && lastItem) lastItem.appendChild(el); else fragment.appendChild(el);
          top = { indent: indent, el: el, ordered: ordered };
          lists.push(top);
        }
        var li = doc.createElement("li");
        li.textHolder = li;
        top.el.appendChild(li);
        lastItem = li;
        lastItemText = m[3];
        return;
      }
      if (lists.length && lastItem) { // continuation of a list item
        if (lastItemText === null) {
          var more = doc.createElement("span");
          lastItem.appendChild(doc.createTextNode(" "));
          lastItem.appendChild(more);
          lastItem.textHolder = more;
          lastItemText = line.trim();
        } else {
          lastItemText += " " + line.trim();
        }
        return;
      }
      var h = HEADING.exec(line);
      if (h) {
        endParagraph();
        var hp = doc.createElement("p");
        hp.className = "mw-heading";
        var strong = doc.createElement("strong");
        renderInline(h[1], strong, options);
        hp.appendChild(strong);
        fragment.appendChild(hp);
        return;
      }
      paragraph.push(line.trim());
    });
    endParagraph();
    endLists();
    return fragment;
  }

  // "Source: [Title](url)" as the last paragraph of an answer: {body, title, href} or null
  var SOURCE = /(^|\n[ \t]*\n)[ \t]*Source:[ \t]*\[([^\]\n]+)\]\([ \t]*<?([^)\s>]+)>?[ \t]*\)\s*$/;
  function splitSource(text, base) {
    var m = SOURCE.exec(String(text || ""));
    if (!m) return null;
    var href = safeUrl(m[3], base);
    if (!href) return null;
    return { body: text.slice(0, m.index).replace(/\s+$/, ""), title: m[2].replace(/\\(.)/g, "$1"), href: href };
  }

  // A message from the assistant or an adviser as the widget shows it: its markdown, then its
  // closing "Source: [Title](url)" line (if it has one) as a paragraph of its own.
  // Returns {fragment, source} (source: splitSource's answer, or null).
  function renderMessage(text, options) {
    var doc = document;
    var source = splitSource(text, options && options.base);
    var fragment = renderMarkdown(source ? source.body : text, options);
    if (source) {
      var p = doc.createElement("p");
      p.className = "mw-source";
      p.appendChild(doc.createTextNode("Source: "));
      var a = linkNode(doc, source.href);
      a.appendChild(doc.createTextNode(source.title));
      p.appendChild(newTabNote(doc, a));
      fragment.appendChild(p);
    }
    return { fragment: fragment, source: source };
  }

  window.MutualsMarkdown = {
    renderMarkdown: renderMarkdown,
    renderMessage: renderMessage,
    splitSource: splitSource,
    linkify: linkify,
    safeUrl: safeUrl,
    linkNode: linkNode,
    newTabNote: newTabNote
  };
})();
