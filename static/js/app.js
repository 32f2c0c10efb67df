// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Sign-up: show the fields of the chosen kind of organisation.
  var form = document.getElementById("signup-form");
  if (form) {
    var radios = form.querySelectorAll("input[name=kind]");
    var update = function () {
      var chosen = form.querySelector("input[name=kind]:checked");
      var kind = chosen ? chosen.value : "";
      form.querySelectorAll("[data-show-for]").forEach(function (el) {
        el.hidden = el.getAttribute("data-show-for") !== kind;
      });
    };
    radios.forEach(function (r) { r.addEventListener("change", update); });
    update();
  }
})();
