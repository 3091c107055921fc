// The visual query builder: nested groups (all of / any of, each can be negated) of
// conditions and counts. It edits the same tree the query text parses to: every change
// here is sent to the server, which answers the canonical text for the text box; text
// typed in the box is parsed by the server and redrawn here. Without JavaScript the
// text box alone works.
(function () {
  "use strict";

  var box = document.querySelector("[data-builder-box]");
  var root = document.querySelector("[data-builder]");
  var text = document.querySelector("[data-query-text]");
  var note = document.querySelector("[data-builder-note]");
  var fieldsNode = document.getElementById("segment-fields");
  if (!box || !root || !text || !fieldsNode) return;
  var form = text.closest("form");
  var parseUrl = "/segments/parse/";
  var fields = JSON.parse(fieldsNode.textContent);
  var OPS = [["", ":"], ["!=", "is not"], [">", ">"], [">=", "≥"], ["<", "<"], ["<=", "≤"], ["=", "="]];
  var COUNT_OPS = [">=", ">", "=", "!=", "<", "<="];
  // what can be counted, as the server's language has it (orders and revenue included)
  var AGGREGATES = JSON.parse(document.getElementById("segment-aggregates").textContent);
  var model = null;
  var serial = 0;

  // -- the tree (server JSON) ⇄ the builder's model ---------------------------------------
  function fromTree(node) {
    var negate = 0;
    while (node && node.type === "not") { negate += 1; node = node.part; }
    if (node.type === "and" || node.type === "or") {
      return { kind: "group", op: node.type, negate: negate, items: node.parts.map(fromTree) };
    }
    if (node.type === "count") {
      return {
        kind: "count", negate: negate, name: node.name, op: node.op, number: String(node.number),
        args: node.args.map(function (a) { return a.name + ":" + a.value; }).join(", ")
      };
    }
    return { kind: "condition", negate: negate, field: node.field, op: node.op, value: node.value };
  }

  function wrap(tree, negate) {
    for (var i = 0; i < negate; i++) tree = { type: "not", part: tree };
    return tree;
  }

  function toTree(item) {
    if (item.kind === "group") {
      var parts = item.items.map(toTree).filter(Boolean);
      if (!parts.length) return null;
      var inner = parts.length === 1 ? parts[0] : { type: item.op, parts: parts };
      return wrap(inner, item.negate);
    }
    if (item.kind === "count") {
      var args = item.args.split(",").map(function (s) { return s.trim(); }).filter(Boolean).map(function (s) {
        var at = s.indexOf(":");
        return { name: s.slice(0, at).trim(), value: s.slice(at + 1).trim() };
      });
      var number = parseInt(item.number, 10);
      return wrap({ type: "count", name: item.name, args: args, op: item.op, number: isNaN(number) ? 0 : number }, item.negate);
    }
    if (!item.field.trim()) return null;
    return wrap({ type: "condition", field: item.field.trim(), op: item.op, value: item.value }, item.negate);
  }

  // -- drawing -------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function select(options, value, label, onChange) {
    var s = el("select", { "aria-label": label });
    // a value the list does not know stays as it is, never silently another one
    var known = options.some(function (o) { return (Array.isArray(o) ? o[0] : o) === value; });
    if (!known && value) options = options.concat([value]);
    options.forEach(function (o) {
      var pair = Array.isArray(o) ? o : [o, o];
      var opt = el("option", { value: pair[0], text: pair[1] });
      if (pair[0] === value) opt.selected = true;
      s.appendChild(opt);
    });
    s.addEventListener("change", function () { onChange(s.value); });
    return s;
  }

  function input(value, label, onChange, list) {
    var i = el("input", { value: value, "aria-label": label });
    if (list) i.setAttribute("list", list);
    i.addEventListener("input", function () { onChange(i.value); });
    return i;
  }

  function notBox(item) {
    var id = "not-" + (++serial);
    var c = el("input", { type: "checkbox", id: id });
    c.checked = item.negate % 2 === 1;
    c.addEventListener("change", function () { item.negate = c.checked ? 1 : 0; changed(); });
    return el("label", { class: "builder-not", for: id }, [c, document.createTextNode(" not")]);
  }

  function removeButton(parent, item) {
    var b = el("button", { type: "button", class: "linkish small", text: "Remove" });
    b.addEventListener("click", function () {
      parent.items.splice(parent.items.indexOf(item), 1);
      draw(); changed();
    });
    return b;
  }

  function drawItem(item, parent) {
    if (item.kind === "group") return drawGroup(item, parent);
    var row = el("div", { class: "builder-row" });
    row.appendChild(notBox(item));
    if (item.kind === "count") {
      row.appendChild(select(AGGREGATES, item.name, "Count of", function (v) { item.name = v; changed(); }));
      row.appendChild(input(item.args, "Count's arguments, e.g. last:90d, direction:out", function (v) { item.args = v; changed(); }));
      row.appendChild(select(COUNT_OPS, item.op, "Comparison", function (v) { item.op = v; changed(); }));
      var n = input(item.number, "Number", function (v) { item.number = v; changed(); });
      n.setAttribute("inputmode", "numeric");
      row.appendChild(n);
    } else {
      row.appendChild(input(item.field, "Field", function (v) { item.field = v; changed(); }, "segment-field-names"));
      row.appendChild(select(OPS, item.op, "Comparison", function (v) { item.op = v; changed(); }));
      row.appendChild(input(item.value, "Value", function (v) { item.value = v; changed(); }));
    }
    if (parent) row.appendChild(removeButton(parent, item));
    return row;
  }

  function drawGroup(group, parent) {
    var wrapBox = el("div", { class: "builder-group" });
    var head = el("div", { class: "builder-row" });
    head.appendChild(notBox(group));
    head.appendChild(select([["and", "all of these (AND)"], ["or", "any of these (OR)"]], group.op, "Match", function (v) { group.op = v; changed(); }));
    if (parent) head.appendChild(removeButton(parent, group));
    wrapBox.appendChild(head);
    var list = el("div", { class: "builder-items" });
    group.items.forEach(function (item) { list.appendChild(drawItem(item, group)); });
    wrapBox.appendChild(list);
    var actions = el("div", { class: "builder-actions" });
    [["Add condition", function () { return { kind: "condition", negate: 0, field: "", op: "", value: "" }; }],
     ["Add count", function () { return { kind: "count", negate: 0, name: "calls", args: "last:90d", op: ">=", number: "1" }; }],
     ["Add group", function () { return { kind: "group", op: group.op === "and" ? "or" : "and", negate: 0, items: [{ kind: "condition", negate: 0, field: "", op: "", value: "" }] }; }]
    ].forEach(function (pair) {
      var b = el("button", { type: "button", class: "secondary small", text: pair[0] });
      b.addEventListener("click", function () { group.items.push(pair[1]()); draw(); changed(); });
      actions.appendChild(b);
    });
    wrapBox.appendChild(actions);
    return wrapBox;
  }

  function draw() {
    root.innerHTML = "";
    root.appendChild(drawItem(model, null));
  }

  // -- talking to the server ---------------------------------------------------------------
  function post(body) {
    var data = new URLSearchParams(body);
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    return fetch(parseUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.json(); });
  }

  var pending = null;
  function changed() {
    clearTimeout(pending);
    pending = setTimeout(function () {
      var tree = toTree(model);
      if (!tree) { text.value = ""; text.dispatchEvent(new Event("input", { bubbles: true })); return; }
      post({ tree: JSON.stringify(tree) }).then(function (answer) {
        if (answer.error) { note.textContent = answer.error; return; }
        note.textContent = "";
        text.value = answer.query;
        text.dispatchEvent(new Event("input", { bubbles: true }));
      });
    }, 300);
  }

  function load(fromText) {
    if (!text.value.trim()) {
      model = { kind: "group", op: "and", negate: 0, items: [{ kind: "condition", negate: 0, field: "", op: "", value: "" }] };
      draw();
      return;
    }
    post({ query: text.value }).then(function (answer) {
      if (answer.error) {
        note.textContent = "The builder shows the last query it could read: " + answer.error;
        return;
      }
      note.textContent = "";
      var item = fromTree(answer.tree);
      model = item.kind === "group" && !item.negate ? item : { kind: "group", op: "and", negate: 0, items: [item] };
      if (!fromText || !root.contains(document.activeElement)) draw();
    });
  }

  var names = el("datalist", { id: "segment-field-names" });
  fields.forEach(function (f) { names.appendChild(el("option", { value: f.name, label: f.help })); });
  document.body.appendChild(names);
  var help = document.querySelector("[data-field-help]");
  if (help) {
    fields.forEach(function (f) {
      help.appendChild(el("dt", {}, [el("code", { text: f.name })]));
      help.appendChild(el("dd", { text: f.help + (f.choices.length ? " (" + f.choices.join(", ") + ")" : "") }));
    });
  }
  box.hidden = false;
  var typing = null;
  text.addEventListener("keyup", function () {
    clearTimeout(typing);
    typing = setTimeout(function () { load(true); }, 500);
  });
  load(false);
})();
