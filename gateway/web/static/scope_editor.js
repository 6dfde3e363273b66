// The scope editor: show only the settings of the mask chosen for each element, and say at once
// whether an age key looks like one. Without script every setting shows; the server decides.
"use strict";
(function () {
  function sync(select) {
    const element = select.dataset.element;
    document.querySelectorAll('.mask-param[data-element="' + element + '"]').forEach(function (label) {
      label.hidden = label.dataset.kind !== select.value;
    });
  }
  document.querySelectorAll("select.mask-kind").forEach(function (select) {
    sync(select);
    select.addEventListener("change", function () { sync(select); });
  });
  document.querySelectorAll("input.age-key").forEach(function (input) {
    input.addEventListener("input", function () {
      input.setAttribute("aria-invalid", input.value !== "" && !input.checkValidity() ? "true" : "false");
    });
  });
})();
