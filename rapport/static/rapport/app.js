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

  // ---- Header: the phone menu, the navigation groups, the account menu, the search.
  function setNavOpen(open) {
    var header = document.querySelector("[data-app-header]");
    var toggle = document.querySelector("[data-nav-toggle]");
    if (!header || !toggle) return;
    header.classList.toggle("app-header--nav-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  // Close the search results and any open header menu, except the one holding `except`.
  function closePopups(except) {
    var results = document.getElementById("global-search-results");
    if (results && !(except && except.closest(".global-search"))) results.innerHTML = "";
    document.querySelectorAll("details.user-menu[open], details[data-nav-group][open]").forEach(function (menu) {
      if (!(except && menu.contains(except))) menu.removeAttribute("open");
    });
    if (!(except && except.closest("[data-app-header] .app-nav, [data-nav-toggle]"))) setNavOpen(false);
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      closePopups(toggle);
      setNavOpen(open);
      return;
    }
    closePopups(event.target);
  });

  // One navigation group open at a time.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.open || !details.matches || !details.matches("details[data-nav-group], details.user-menu")) return;
    closePopups(details);
  }, true);

  function isTyping(element) {
    if (!element) return false;
    if (element.isContentEditable) return true;
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    return ["checkbox", "radio", "button", "submit", "reset", "file", "color", "range"].indexOf(element.type) === -1;
  }

  function searchOptions() {
    var results = document.getElementById("global-search-results");
    return results ? Array.prototype.slice.call(results.querySelectorAll("a")) : [];
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var inHeader = document.activeElement && document.activeElement.closest("[data-app-header]");
      var openMenu = inHeader && document.activeElement.closest("details[open], .app-header--nav-open");
      closePopups(null);
      // Give focus back to what opened the menu, so the keyboard user is not lost.
      if (openMenu) {
        var back = openMenu.matches("details") ? openMenu.querySelector("summary") : document.querySelector("[data-nav-toggle]");
        if (back) back.focus();
      } else if (inHeader && document.activeElement.closest("#global-search-results")) {
        document.getElementById("global-q").focus();
      }
      return;
    }
    // "/" jumps to the search from anywhere that is not a text field.
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !isTyping(document.activeElement)) {
      var search = document.getElementById("global-q");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    // Arrow keys move between the search box and its suggestions.
    var options = searchOptions();
    if (!options.length) return;
    var active = document.activeElement;
    var index = options.indexOf(active);
    if (active && active.id === "global-q") {
      if (event.key !== "ArrowDown") return;
      event.preventDefault();
      options[0].focus();
    } else if (index !== -1) {
      event.preventDefault();
      if (event.key === "ArrowDown") options[Math.min(index + 1, options.length - 1)].focus();
      else if (index === 0) document.getElementById("global-q").focus();
      else options[index - 1].focus();
    }
  });

  // A form that refreshes a list on "change" ignores changes coming from a search box
  // that fetches its own results as the user types (leaving such a box would fetch twice).
  document.addEventListener("htmx:confirm", function (event) {
    var trigger = event.detail.triggeringEvent;
    if (!trigger || trigger.type !== "change" || trigger.target === event.detail.elt) return;
    if (trigger.target.matches && trigger.target.matches("input[type=search][hx-get]")) event.preventDefault();
  });

  // Tag badges carry their colour in data attributes (no inline styles under the
  // Content-Security-Policy); paint them on load and whenever htmx adds content.
  function paintTags(root) {
    if (!root || !root.querySelectorAll) return;
    var badges = Array.prototype.slice.call(root.querySelectorAll("[data-tag-color]"));
    if (root.matches && root.matches("[data-tag-color]")) badges.push(root);
    badges.forEach(function (badge) {
      badge.style.setProperty("--tag-bg", badge.getAttribute("data-tag-color"));
      badge.style.setProperty("--tag-fg", badge.getAttribute("data-tag-fg") || "#fff");
    });
  }
  paintTags(document);
  document.addEventListener("htmx:load", function (event) {
    paintTags(event.detail.elt);
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

  // Single-key shortcuts: an element with data-shortcut="c" is chosen when that key is
  // pressed outside a text field (a radio is checked, anything else clicked); in a
  // quick-log form the text box then takes the focus, so "c", type, Ctrl+Enter logs a call.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) return;
    if (isTyping(document.activeElement)) return;
    var target = document.querySelector('[data-shortcut="' + event.key.toLowerCase() + '"]');
    if (!target) return;
    event.preventDefault();
    if (target.type === "radio" || target.type === "checkbox") {
      target.checked = true;
      target.dispatchEvent(new Event("change", { bubbles: true }));
      var form = target.closest("form");
      var text = form && form.querySelector("textarea");
      if (text) text.focus();
    } else {
      target.click();
    }
  });

  // Ctrl+Enter (or Cmd+Enter) in a text box marked for it sends its form.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var box = event.target.closest && event.target.closest("[data-submit-on-ctrl-enter]");
    if (!box || !box.form) return;
    event.preventDefault();
    box.form.requestSubmit();
  });

  // A quick-log form shows only the fields of the kind chosen (all of them without JS).
  function showKindFields(form) {
    var chosen = form.querySelector('input[name="kind"]:checked');
    var kind = chosen ? chosen.value : "note";
    form.setAttribute("data-kind", kind);
    Array.prototype.forEach.call(form.querySelectorAll("[data-for-kind]"), function (field) {
      field.hidden = field.getAttribute("data-for-kind").split(" ").indexOf(kind) === -1;
    });
  }
  function prepareQuickLogs(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-quick-log]"), showKindFields);
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("[data-quick-log]");
    if (form && event.target.name === "kind") showKindFields(form);
  });
  prepareQuickLogs(document);
  document.addEventListener("htmx:load", function (event) {
    prepareQuickLogs(event.detail.elt);
  });
})();
