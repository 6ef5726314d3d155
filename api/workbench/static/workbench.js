// The legal workbench works without this script; it only adds conveniences.
(function () {
  "use strict";
  // Submitting a form keeps the page's address shareable: empty fields are left out.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "get") return;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.value === "" && el.tagName !== "BUTTON") el.disabled = true;
    });
    window.setTimeout(function () {
      Array.prototype.forEach.call(form.elements, function (el) { el.disabled = false; });
    }, 0);
  });
  // After a wrong input, put the keyboard where the message is.
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  });
})();
