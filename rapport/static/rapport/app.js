// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // "Add another" rows: clone the group's <template>, numbering the new row.
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var group = add.getAttribute("data-add-row");
      var rows = document.querySelector('[data-rows="' + group + '"]');
      var template = document.getElementById("tpl-" + group);
      if (!rows || !template) return;
      var next = parseInt(rows.getAttribute("data-next") || "0", 10);
      rows.setAttribute("data-next", String(next + 1));
      var html = template.innerHTML.replace(/__i__/g, String(next));
      rows.insertAdjacentHTML("beforeend", html);
      var first = rows.lastElementChild && rows.lastElementChild.querySelector("input, select");
      if (first) first.focus();
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      var row = remove.closest("[data-row]");
      if (!row) return;
      // Blank rows are ignored by the server, so clearing is removing.
      row.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (input.type === "radio" || input.type === "checkbox") input.checked = false;
        else if (input.tagName !== "SELECT") input.value = "";
      });
      row.hidden = true;
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.value).then(function () {
          copy.textContent = "Copied";
        });
      } else if (source) {
        source.select();
      }
    }
  });

  // Export links carry the list's current search and filters, which htmx keeps in the
  // address bar (the links were rendered with the filters the page was loaded with).
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-export-format]");
    if (!link) return;
    var params = new URLSearchParams(window.location.search);
    params.delete("cursor");
    params.set("format", link.getAttribute("data-export-format"));
    link.href = link.pathname + "?" + params.toString();
  });

  // Confirm destructive actions.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  // After a failed save, move focus to the error summary so screen readers announce it.
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("form[data-focus-errors]")) {
      var summary = document.getElementById("form-errors");
      if (summary) summary.focus();
    }
  });

  // Close the header search results and the account menu on Escape or outside click.
  function closePopups(except) {
    var results = document.getElementById("global-search-results");
    if (results && !(except && except.closest(".global-search"))) results.innerHTML = "";
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!(except && menu.contains(except))) menu.removeAttribute("open");
    });
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closePopups(null);
  });
  document.addEventListener("click", function (event) {
    closePopups(event.target);
  });

  // Keep aria-busy in step with htmx requests on live regions.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    if (target) target.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target) target.setAttribute("aria-busy", "false");
  });
})();
