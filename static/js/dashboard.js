// The dashboards' charts: Chart.js (static/vendor/chart.js, pinned in package.json) drawing the
// series the page embeds as JSON (#dashboard-charts). The tables under the charts carry the same
// figures for screen readers and for copying.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof window.Chart === "undefined") return;
  var charts = JSON.parse(source.textContent);
  var palette = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2"];
  var units = {
    usdc: function (v) { return v.toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2}) + " USDC"; },
    percent: function (v) { return v.toFixed(1) + " %"; },
    ratio: function (v) { return v.toFixed(2) + "×"; },
    score: function (v) { return v.toFixed(1); },
    count: function (v) { return Math.round(v).toLocaleString("en-US"); }
  };
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  window.leadEngineCharts = {};
  charts.forEach(function (chart) {
    var canvas = document.getElementById("chart-" + chart.id);
    if (!canvas) return;
    var format = units[chart.unit] || units.count;
    var instance = new window.Chart(canvas, {
      type: chart.type,
      data: {
        labels: chart.labels,
        datasets: chart.datasets.map(function (set, i) {
          var colour = palette[i % palette.length];
          return {label: set.label, data: set.data, backgroundColor: colour, borderColor: colour,
                  borderWidth: 2, pointRadius: chart.labels.length > 40 ? 0 : 2, spanGaps: true, tension: 0.2};
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: reduced ? false : {duration: 300},
        interaction: {mode: "index", intersect: false},
        scales: {
          x: {stacked: !!chart.stacked, ticks: {maxRotation: 0, autoSkip: true, maxTicksLimit: 8}},
          y: {stacked: !!chart.stacked, beginAtZero: true, ticks: {callback: function (v) { return format(v); }}}
        },
        plugins: {
          legend: {position: "bottom"},
          tooltip: {callbacks: {label: function (ctx) {
            return ctx.dataset.label + ": " + (ctx.parsed.y === null ? "—" : format(ctx.parsed.y));
          }}}
        }
      }
    });
    window.leadEngineCharts[chart.id] = instance;
    canvas.dataset.rendered = "true";
  });
})();
