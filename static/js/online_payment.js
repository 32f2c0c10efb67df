// The payment page asks for its status every few seconds and shows "paid" by itself.
(function () {
  const box = document.getElementById("online-payment");
  if (!box || box.dataset.status !== "pending") return;
  const badge = document.getElementById("online-status");
  let tries = 0;
  function poll() {
    tries += 1;
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => {
        if (!data) return;
        if (data.status !== "pending") {
          box.dataset.status = data.status;
          badge.textContent = data.label;
          badge.className = "badge text-bg-" + (data.status === "paid" ? "success" : "secondary");
          const qr = document.getElementById("online-qr");
          if (qr) qr.remove();
          for (const id of ["online-hint", "online-valid"]) {
            const element = document.getElementById(id);
            if (element) element.remove();
          }
          if (data.status === "paid") document.getElementById("online-paid-note").classList.remove("d-none");
        }
      })
      .catch(() => {})
      .finally(() => {
        if (box.dataset.status === "pending" && tries < 600) setTimeout(poll, 2000);
      });
  }
  setTimeout(poll, 2000);
})();
