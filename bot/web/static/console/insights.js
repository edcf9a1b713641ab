/*!
 * Mutuals Assistant adviser console: the insights dashboard's charts (/console/insights).
 *
 * Each chart on the page is a <section class="chart-block"> holding a hidden <canvas>, its figures
 * as JSON in a <script type="application/json"> (bot/console/_insights_dashboard.py, Chart.data)
 * and the same figures in a table inside an open <details>. This draws each chart with Chart.js
 * (../vendor/chart.umd.min.js, vendored by `mutuals setup`), shows the canvas and closes the table
 * behind it. Without JavaScript, or without Chart.js, nothing changes: the open tables are the
 * charts. No inline scripts or styles: the server's CSP (script-src 'self') forbids them.
 */
(function () {
  "use strict";

  var Chart = window.Chart;
  if (typeof Chart !== "function") {
    return;
  }
  Chart.defaults.animation = false; // drawn at once, and nothing moves for people who asked for less motion
  Chart.defaults.color = "#3d4743"; // the page's muted ink: 9.6:1 on white
  Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;

  // a long name under one of a few bars goes on two lines, broken between words
  function lines(label) {
    var words = String(label).split(" ");
    if (label.length <= 14 || words.length < 2) {
      return label;
    }
    var best = 1;
    for (var i = 1; i < words.length; i++) {
      var first = words.slice(0, i).join(" ").length;
      var bestFirst = words.slice(0, best).join(" ").length;
      if (Math.abs(first - label.length / 2) < Math.abs(bestFirst - label.length / 2)) {
        best = i;
      }
    }
    return [words.slice(0, best).join(" "), words.slice(best).join(" ")];
  }

  function draw(block) {
    var canvas = block.querySelector("canvas");
    var source = block.querySelector('script[type="application/json"]');
    if (!canvas || !source) {
      return;
    }
    var spec;
    try {
      spec = JSON.parse(source.textContent);
    } catch (error) {
      return; // the table stays open
    }
    canvas.parentNode.hidden = false;
    var few = spec.labels.length <= 8;
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: few ? spec.labels.map(lines) : spec.labels,
        datasets: spec.datasets.map(function (set) {
          return { label: set.label, data: set.data, backgroundColor: set.colour, borderColor: set.colour };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: spec.datasets.length > 1, position: "top", align: "start" },
          title: { display: false }
        },
        scales: {
          x: {
            stacked: spec.stacked,
            grid: { display: false },
            ticks: few ? { maxRotation: 0, autoSkip: false } : { maxRotation: 45, autoSkip: true, maxTicksLimit: 16 }
          },
          y: {
            stacked: spec.stacked,
            beginAtZero: true,
            grid: { color: "#d0d6d3" },
            ticks: { precision: 0 }
          }
        }
      }
    });
    var details = block.querySelector("details");
    if (details) {
      details.open = false; // the table is behind the chart, a click away
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("section.chart-block"), draw);
})();
