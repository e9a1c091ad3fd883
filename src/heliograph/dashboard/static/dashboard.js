// Heliograph dashboard: draws the charts whose data the server embeds as JSON, on load and after htmx swaps.
(function () {
  "use strict";

  var TONES = { neutral: "#5b84d6", positive: "#17804a", negative: "#b3261e" };
  var UNRATED = "#b8c2d6";

  function colour(series) {
    if (series.tone === "neutral" && series.label === "Not rated") return UNRATED;
    return TONES[series.tone] || TONES.neutral;
  }

  var LINES = ["#5b84d6", "#c77c02", "#7a4fc9", "#17804a", "#4b5563"];

  // A feedback trend: per value a line of its positive rate between the two edges of its Wilson band
  // (filled), and a bar at each step where a monitor fired.
  function trendConfig(data) {
    var datasets = [];
    data.series.forEach(function (series, i) {
      var tone = LINES[i % LINES.length];
      var common = { type: "line", pointRadius: 0, spanGaps: false, borderWidth: 0, yAxisID: "y" };
      datasets.push(Object.assign({ label: series.label + " 95% low", data: series.low, fill: false }, common));
      datasets.push(Object.assign({ label: series.label + " 95% high", data: series.high, fill: "-1",
                                    backgroundColor: tone + "22" }, common));
      datasets.push({ type: "line", label: series.label, data: series.data, borderColor: tone,
                      backgroundColor: tone, pointRadius: 2, borderWidth: 2, spanGaps: false, yAxisID: "y" });
    });
    if (data.marks.length) {
      var fired = data.labels.map(function () { return null; });
      data.marks.forEach(function (mark) { fired[mark.index] = 1; });
      datasets.push({ type: "bar", label: "Monitor fired", data: fired, backgroundColor: TONES.negative + "66",
                      borderWidth: 0, barPercentage: 0.15, yAxisID: "y" });
    }
    return {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { labels: { filter: function (item) { return !/ 95% (low|high)$/.test(item.text); } } } },
        scales: { x: { ticks: { maxRotation: 45, autoSkip: true } }, y: { min: 0, max: 1 } }
      }
    };
  }

  function draw(script) {
    var canvas = document.getElementById(script.getAttribute("data-chart-for"));
    if (!canvas || typeof window.Chart === "undefined") return;
    var existing = window.Chart.getChart(canvas);
    if (existing) existing.destroy();
    var data = JSON.parse(script.textContent);
    if (data.kind === "trend") {
      new window.Chart(canvas, trendConfig(data));
      return;
    }
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
