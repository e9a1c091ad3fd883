// Heliograph dashboard: draws the charts whose data the server embeds as JSON, on load and after htmx swaps.
(function () {
  "use strict";

  var TONES = { neutral: "#5b84d6", positive: "#17804a", negative: "#b3261e" };
  var UNRATED = "#b8c2d6";

  function colour(series) {
    if (series.tone === "neutral" && series.label === "Not rated") return UNRATED;
    return TONES[series.tone] || TONES.neutral;
  }

  function draw(script) {
    var canvas = document.getElementById(script.getAttribute("data-chart-for"));
    if (!canvas || typeof window.Chart === "undefined") return;
    var existing = window.Chart.getChart(canvas);
    if (existing) existing.destroy();
    var data = JSON.parse(script.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series) {
          return { label: series.label, data: series.data, backgroundColor: colour(series), borderWidth: 0 };
        })
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: data.series.length > 1 } },
        scales: {
          x: { stacked: data.stacked, ticks: { maxRotation: 45, autoSkip: true } },
          y: { stacked: data.stacked, beginAtZero: true, ticks: { precision: 0 } }
        }
      }
    });
  }

  function drawAll(root) {
    var scripts = (root || document).querySelectorAll('script[type="application/json"][data-chart-for]');
    Array.prototype.forEach.call(scripts, draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
})();
