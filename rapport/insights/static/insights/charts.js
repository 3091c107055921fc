// Draws the insights charts with the vendored Chart.js, and the KPI sparklines; every
// chart's figures are also in the table beneath it.
(function () {
  "use strict";
  var COLORS = ["#1d4ed8", "#b42318", "#067647", "#b54708", "#6941c6", "#0e7090", "#c11574", "#475467", "#4e5ba6"];
  function unit(u) { return u === "percent" ? " %" : ""; }
  function charts() {
    if (typeof window.Chart === "undefined") return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var bar = data.type === "bar";
      new window.Chart(canvas, {
        type: data.type,
        data: {
          labels: data.labels,
          datasets: data.datasets.map(function (d, i) {
            var color = COLORS[i % COLORS.length];
            return { label: d.label, data: d.data, borderColor: color, backgroundColor: color, spanGaps: true, pointRadius: 2 };
          }),
        },
        options: {
          animation: false, maintainAspectRatio: false,
          plugins: { legend: { display: data.datasets.length > 1 }, tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + c.formattedValue + unit(data.unit); } } } },
          scales: {
            x: { stacked: !!data.stacked },
            y: { stacked: !!data.stacked, beginAtZero: true, max: data.unit === "percent" ? 100 : undefined },
          },
        },
      });
    });
  }
  function sparklines() {
    document.querySelectorAll("svg[data-trend]").forEach(function (svg) {
      var values = svg.getAttribute("data-trend").split(",").map(function (v) { return v === "" ? null : parseFloat(v); });
      var known = values.filter(function (v) { return v !== null; });
      if (known.length < 2) return;
      var min = Math.min.apply(null, known), max = Math.max.apply(null, known), span = max - min || 1;
      var step = 120 / (values.length - 1), points = [];
      values.forEach(function (v, i) { if (v !== null) points.push((i * step).toFixed(1) + "," + (28 - ((v - min) / span) * 26).toFixed(1)); });
      var line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      line.setAttribute("points", points.join(" "));
      line.setAttribute("fill", "none");
      line.setAttribute("stroke", "currentColor");
      line.setAttribute("stroke-width", "2");
      svg.appendChild(line);
    });
  }
  function draw() { charts(); sparklines(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
