// The contact and organization lists' selection: tick one row, shift-click a range, tick
// the page, or choose every record that matches; the bulk bar shows the chosen action's field.
// The list's results are replaced by htmx, so everything listens on the document.
(function () {
  "use strict";

  var lastClicked = null;

  function bulkVerbs(bar) {
    // What the bar offers this user, in words: "tag, export, merge or delete".
    var offered = {};
    bar.querySelectorAll("select[name=action] option").forEach(function (option) {
      offered[option.value] = true;
    });
    var verbs = ["tag", "export", "merge", "delete"].filter(function (verb) { return offered[verb]; });
    if (verbs.length < 2) return verbs.join("") || "select";
    return verbs.slice(0, -1).join(", ") + " or " + verbs[verbs.length - 1];
  }

  function form() { return document.getElementById("bulk-form"); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("input[data-bulk-row]")); }

  function update() {
    var bar = form();
    if (!bar) return;
    var boxes = rows();
    var ticked = boxes.filter(function (box) { return box.checked; });
    var scope = bar.querySelector("[data-bulk-scope]");
    var all = scope.value === "all";
    var total = parseInt(bar.getAttribute("data-total") || "0", 10);
    var status = bar.querySelector("[data-bulk-status]");
    var noun = bar.getAttribute("data-noun") || "contacts";
    var selectAll = bar.querySelector("[data-bulk-all]");
    var clear = bar.querySelector("[data-bulk-clear]");
    var pageBox = document.querySelector("input[data-bulk-page]");
    boxes.forEach(function (box) {
      var row = box.closest("tr");
      if (row) row.classList.toggle("is-selected", box.checked);
    });
    if (all) {
      var totalText = bar.getAttribute("data-total-text");
      status.textContent = "All " + (totalText ? totalText + " " : "") + "matching " + noun + " selected";
    } else if (ticked.length) {
      status.textContent = ticked.length + " selected";
    } else {
      status.textContent = "Tick " + noun + " to " + bulkVerbs(bar) + " them.";
    }
    var wholePage = boxes.length > 0 && ticked.length === boxes.length;
    selectAll.hidden = all || !wholePage || total <= boxes.length;
    clear.hidden = !all && !ticked.length;
    if (pageBox) {
      pageBox.checked = wholePage;
      pageBox.indeterminate = ticked.length > 0 && !wholePage;
    }
    bar.classList.toggle("is-idle", !all && !ticked.length);
    var apply = bar.querySelector("[data-bulk-apply]");
    if (apply) apply.disabled = !all && !ticked.length;
    showValue(bar);
  }

  function showValue(bar) {
    var action = bar.querySelector("[data-bulk-action]");
    if (!action) return;
    bar.querySelectorAll("[data-bulk-for]").forEach(function (field) {
      var wanted = field.getAttribute("data-bulk-for").split(" ");
      field.hidden = wanted.indexOf(action.value) === -1;
    });
  }

  function setScope(value) {
    var bar = form();
    if (bar) bar.querySelector("[data-bulk-scope]").value = value;
  }

  document.addEventListener("click", function (event) {
    var box = event.target.closest("input[data-bulk-row]");
    if (box) {
      if (event.shiftKey && lastClicked && lastClicked !== box && document.contains(lastClicked)) {
        var boxes = rows();
        var from = boxes.indexOf(lastClicked);
        var to = boxes.indexOf(box);
        if (from !== -1 && to !== -1) {
          var low = Math.min(from, to);
          var high = Math.max(from, to);
          for (var i = low; i <= high; i++) boxes[i].checked = box.checked;
        }
      }
      lastClicked = box;
      if (!box.checked) setScope("selected");
      update();
      return;
    }
    if (event.target.closest("[data-bulk-all]")) {
      setScope("all");
      update();
      return;
    }
    if (event.target.closest("[data-bulk-clear]")) {
      setScope("selected");
      rows().forEach(function (row) { row.checked = false; });
      update();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("input[data-bulk-page]")) {
      var checked = event.target.checked;
      rows().forEach(function (row) { row.checked = checked; });
      if (!checked) setScope("selected");
      update();
    } else if (event.target.matches("[data-bulk-action]")) {
      showValue(form());
    }
  });

  // Rows added by "Load more" and whole new results (a new search) both come through htmx.
  document.addEventListener("htmx:afterSettle", function () {
    if (!lastClicked || !document.contains(lastClicked)) lastClicked = null;
    update();
  });
  document.addEventListener("DOMContentLoaded", update);

  // The columns menu closes on Escape or a click elsewhere, like the other menus.
  function closeColumns(except) {
    document.querySelectorAll("details.columns-menu[open]").forEach(function (menu) {
      if (!(except && menu.contains(except))) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) { closeColumns(event.target); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeColumns(null);
  });
})();
