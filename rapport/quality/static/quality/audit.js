// Draws the audit page's charts with the vendored Chart.js; the tables show the same figures.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("quality-chart-data");
    if (!source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var dist = document.getElementById("quality-distribution");
    if (dist) {
      new window.Chart(dist, {
        type: "bar",
        data: {
          labels: data.distribution.map(function (b) { return b.bucket; }),
          datasets: [{
            label: "Contacts",
            data: data.distribution.map(function (b) { return b.count; }),
            backgroundColor: ["#b42318", "#d92d20", "#f79009", "#fdb022", "#32d583", "#067647"],
          }],
        },
        options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
      });
    }
    var trend = document.getElementById("quality-trend");
    if (trend && data.trend.length) {
      new window.Chart(trend, {
        type: "line",
        data: {
          labels: data.trend.map(function (p) { return p.date; }),
          datasets: [
            { label: "Average score", data: data.trend.map(function (p) { return p.average_score; }), borderColor: "#1d4ed8", yAxisID: "score" },
            { label: "Contacts", data: data.trend.map(function (p) { return p.contacts; }), borderColor: "#64748b", yAxisID: "count" },
          ],
        },
        options: {
          animation: false,
          scales: {
            score: { position: "left", min: 0, max: 100 },
            count: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
          },
        },
      });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
