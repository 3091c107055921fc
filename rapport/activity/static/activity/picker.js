// The Related field of the task form: htmx fetches the matches as the user types and
// each match, chosen, fetches its chip. This adds the keyboard (arrows move between the
// box and the matches, Enter in the box adds the first one, Escape closes them), clears
// the box once a chip is added, and removes a chip with its × button. Without
// JavaScript each chip is a checkbox and a search is answered when the form is sent.
(function () {
  "use strict";

  function pickerOf(el) {
    return el && el.closest ? el.closest("[data-picker]") : null;
  }

  function options(picker) {
    return Array.prototype.slice.call(picker.querySelectorAll("[data-picker-option]"));
  }

  function input(picker) {
    return picker.querySelector("[data-picker-input]");
  }

  function close(picker) {
    var list = picker.querySelector("[data-picker-options]");
    if (list) list.innerHTML = "";
    input(picker).setAttribute("aria-expanded", "false");
  }

  document.documentElement.classList.add("picker-js");

  document.addEventListener("keydown", function (event) {
    var picker = pickerOf(event.target);
    if (!picker) return;
    var box = input(picker);
    var all = options(picker);
    var index = all.indexOf(event.target);
    if (event.key === "Escape" && (event.target === box || index !== -1)) {
      if (!all.length) return;
      event.preventDefault();
      close(picker);
      box.focus();
    } else if (event.target === box && event.key === "Enter") {
      // Enter in the box never sends the form: it adds the first match, if any.
      event.preventDefault();
      if (all.length) all[0].click();
    } else if (event.key === "ArrowDown" && (event.target === box || index !== -1)) {
      if (!all.length) return;
      event.preventDefault();
      all[Math.min(index + 1, all.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index !== -1) {
      event.preventDefault();
      if (index === 0) box.focus();
      else all[index - 1].focus();
    }
  });

  document.addEventListener("click", function (event) {
    var remove = event.target.closest && event.target.closest("[data-picker-remove]");
    if (!remove) return;
    var chip = remove.closest("[data-picker-chip]");
    var picker = pickerOf(chip);
    if (!chip || !picker) return;
    // Keep the keyboard in the field: on the next chip's button, else the search box.
    var next = chip.nextElementSibling || chip.previousElementSibling;
    chip.remove();
    var focus = next && next.querySelector("[data-picker-remove]");
    (focus || input(picker)).focus();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var picker = pickerOf(target);
    if (!picker) return;
    if (target.matches("[data-picker-chips]")) {
      var box = input(picker);
      box.value = "";
      close(picker);
      box.focus();
    } else if (target.matches("[data-picker-options]")) {
      input(picker).setAttribute("aria-expanded", options(picker).length ? "true" : "false");
    }
  });
})();
