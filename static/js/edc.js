// Trial EDC: the little behaviour htmx does not cover. No inline scripts anywhere (CSP).
(function () {
  "use strict";
  // A day picked in a date-picker month grid fills the input it belongs to.
  document.addEventListener("click", function (event) {
    var day = event.target.closest("[data-edc-date-value]");
    if (!day) return;
    var wrapper = day.closest("[data-edc-date]");
    var input = wrapper && wrapper.querySelector("input");
    if (!input) return;
    input.value = day.getAttribute("data-edc-date-value");
    input.dispatchEvent(new Event("change", { bubbles: true }));
    var popup = wrapper.querySelector(".edc-date-popup");
    if (popup) popup.innerHTML = "";
    input.focus();
  });
  // Escape closes an open picker.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll(".edc-date-popup").forEach(function (p) { p.innerHTML = ""; });
  });
})();
