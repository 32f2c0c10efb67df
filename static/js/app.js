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

// Booking review: changing the duration reloads the quote for it.
(function () {
  "use strict";
  var select = document.querySelector("select[data-autosubmit=duration]");
  if (!select) { return; }
  select.addEventListener("change", function () {
    var form = select.form;
    var url = new URL(form.action, window.location.href);
    url.searchParams.set("start", form.querySelector("input[name=start]").value);
    url.searchParams.set("minutes", select.value);
    window.location.assign(url.toString());
  });
})();
