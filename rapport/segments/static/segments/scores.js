// The score editor: choosing a rule's kind opens that kind's settings and folds the
// others. Without JavaScript every kind's settings stay one click away.
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!(select instanceof HTMLSelectElement) || !/^rule-\d+-kind$/.test(select.name)) return;
    var rule = select.closest("fieldset");
    if (!rule) return;
    rule.querySelectorAll("details[data-kind]").forEach(function (details) {
      details.open = details.getAttribute("data-kind") === select.value;
    });
  });
})();
