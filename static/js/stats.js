// Statistics charts: each <canvas data-chart="..."> carries its Chart.js data as JSON
// (the Content-Security-Policy allows no inline script). The tables beside the charts
// carry the same figures, so the pages read fine without this file.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var palette = ["#0b4f6c", "#f0ad00", "#1d7874", "#6f42c1", "#dc3545", "#6c757d"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var scales = {};
    spec.datasets.forEach(function (set, i) {
      set.backgroundColor = palette[i % palette.length];
      set.borderColor = palette[i % palette.length];
      if (set.yAxisID === "percent") {
        // Chart.js puts datasets without an axis on the first y scale it knows, so the
        // hours axis is declared too, on the left.
        scales.y = { position: "left", beginAtZero: true };
        scales.percent = {
          position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
          ticks: { callback: function (v) { return v + "%"; } }
        };
      }
    });
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        indexAxis: spec.indexAxis || "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: { legend: { position: "bottom" } }
      }
    });
  });
})();
