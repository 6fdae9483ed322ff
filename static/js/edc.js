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
    var picked = day.getAttribute("data-edc-date-value");
    if (input.hasAttribute("data-edc-datetime")) {
      // A date and time: the picked day replaces the date, the time typed stays.
      var time = input.value.trim().split(/\s+/)[1] || "";
      picked = time ? picked + " " + time : picked + " ";
    }
    input.value = picked;
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

  // <form data-edc-submit-once>: the submit button is disabled once pressed (no double record).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-edc-submit-once")) return;
    form.querySelectorAll("[type=submit]").forEach(function (b) { b.disabled = true; });
  });

  // <button data-edc-print>: print the page.
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-edc-print]")) window.print();
  });

  // <form data-edc-show-when="signer=representative" data-edc-show-fields="a b">: the named
  // fields matter only when that radio choice is made (the consent's representative); hidden
  // otherwise.
  function syncShownFields(form) {
    var rule = form.getAttribute("data-edc-show-when").split("=");
    var chosen = form.querySelector("[name='" + rule[0] + "']:checked");
    var show = !!chosen && chosen.value === rule[1];
    form.getAttribute("data-edc-show-fields").split(" ").forEach(function (name) {
      var input = form.querySelector("[name='" + name + "']");
      var row = input && input.closest(".mb-3");
      if (row) row.hidden = !show;
    });
  }
  function initShownFields(root) {
    root.querySelectorAll("form[data-edc-show-when]").forEach(function (form) {
      syncShownFields(form);
      form.addEventListener("change", function () { syncShownFields(form); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initShownFields(document); });
  } else {
    initShownFields(document);
  }
})();
