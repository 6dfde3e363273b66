// The scope editor: show only the settings of the mask chosen for each element, preview the mask
// on invented values as it is chosen (the server masks them with the delivery's own code), and
// say at once whether an age key looks like one. Without script every setting shows and the
// server still decides.
"use strict";
(function () {
  const form = document.querySelector("form.scope-editor");
  if (!form) return;
  const previewUrl = form.dataset.previewUrl;
  const token = form.querySelector("input[name=csrf_token]").value;

  function params(element, kind) {
    const body = new URLSearchParams({ csrf_token: token, element: element, mask: kind });
    form.querySelectorAll('.mask-param[data-element="' + element + '"][data-kind="' + kind + '"] input')
      .forEach(function (input) { body.set(input.name.split(".").pop(), input.value); });
    return body;
  }

  async function preview(select) {
    const element = select.dataset.element;
    const output = form.querySelector('output.mask-preview[data-element="' + element + '"]');
    if (!output) return;
    try {
      const answer = await fetch(previewUrl, { method: "POST", body: params(element, select.value),
                                               credentials: "same-origin" });
      const shown = await answer.json();
      output.textContent = shown.error
        ? shown.error
        : shown.rows.map(function (row) { return row[0] + " → " + row[1]; }).join("; ");
    } catch (error) {
      output.textContent = "";
    }
  }

  function sync(select) {
    const element = select.dataset.element;
    form.querySelectorAll('.mask-param[data-element="' + element + '"]').forEach(function (label) {
      label.hidden = label.dataset.kind !== select.value;
    });
  }

  form.querySelectorAll("select.mask-kind").forEach(function (select) {
    sync(select);
    select.addEventListener("change", function () { sync(select); preview(select); });
    form.querySelectorAll('.mask-param[data-element="' + select.dataset.element + '"] input')
      .forEach(function (input) { input.addEventListener("change", function () { preview(select); }); });
  });
  form.querySelectorAll("input.age-key").forEach(function (input) {
    input.addEventListener("input", function () {
      input.setAttribute("aria-invalid", input.value !== "" && !input.checkValidity() ? "true" : "false");
    });
  });
})();
