// My tasks: move between rows with j/k or the arrow keys, complete the focused one with x.
(function () {
  "use strict";

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-task-row]"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(document.activeElement)) return;
    var row = document.activeElement && document.activeElement.closest("[data-task-row]");
    var key = event.key;
    if (key === "x" && row) {
      var done = row.querySelector("[data-task-complete]");
      if (done) {
        event.preventDefault();
        done.click();
      }
      return;
    }
    if (key !== "j" && key !== "k" && key !== "ArrowDown" && key !== "ArrowUp") return;
    var all = rows();
    if (!all.length) return;
    var index = row ? all.indexOf(row) : -1;
    var down = key === "j" || key === "ArrowDown";
    if (!row && (key === "ArrowDown" || key === "ArrowUp")) return; // leave page scrolling alone
    event.preventDefault();
    var next = down ? Math.min(index + 1, all.length - 1) : Math.max(index - 1, 0);
    all[next].focus();
  });

  // After htmx replaces a row, keep the keyboard on it (found again by its id); after
  // "Load more", the keyboard goes to the first of the rows it brought.
  var swapped = null;
  var lastBefore = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.target && event.target.closest ? event.target : null;
    var row = target && target.closest("[data-task-row]");
    swapped = row ? row.id : null;
    var more = target && target.closest("[data-task-more]");
    var previous = more && more.previousElementSibling;
    lastBefore = previous && previous.matches("[data-task-row]") ? previous.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    var row = swapped && document.getElementById(swapped);
    if (!row && lastBefore) {
      var last = document.getElementById(lastBefore);
      row = last && last.nextElementSibling;
      if (row && !row.matches("[data-task-row]")) row = null;
    }
    if (row) row.focus();
    swapped = null;
    lastBefore = null;
  });
})();
