/* Draws every [data-chart] element with Apache ECharts (served from our own static files).
 *
 * Each element names, in data-source, the id of a <script type="application/json"> (Django's
 * json_script) holding a complete ECharts option built by the server (web/charts.py): texts are
 * already in the reader's language, so this file holds none. Drawn again after an htmx swap, resized
 * with the window.
 */
(function () {
  "use strict";

  var FORMATTERS = {
    percent: function (value) {
      return value === null || value === undefined ? "–" : value + "%";
    },
  };

  function option(element) {
    var source = document.getElementById(element.getAttribute("data-source"));
    var parsed = source ? JSON.parse(source.textContent) : {};
    var tooltip = parsed.tooltip;
    if (tooltip && typeof tooltip.valueFormatter === "string") {
      tooltip.valueFormatter = FORMATTERS[tooltip.valueFormatter];
    }
    parsed.textStyle = { fontFamily: getComputedStyle(document.body).fontFamily };
    parsed.animationDuration = 400;
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      parsed.animation = false;
    }
    return parsed;
  }

  function draw(root) {
    if (!window.echarts) {
      return;
    }
    var elements = (root || document).querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(elements, function (element) {
      var chart = window.echarts.getInstanceByDom(element);
      if (!chart) {
        chart = window.echarts.init(element, null, { renderer: "canvas" });
        // data-drawn: set once the chart has finished drawing (its animation included), for tests
        // and screenshots to wait on.
        chart.on("finished", function () {
          element.setAttribute("data-drawn", "true");
        });
      }
      element.removeAttribute("data-drawn");
      chart.setOption(option(element), true);
    });
  }

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (element) {
        var chart = window.echarts && window.echarts.getInstanceByDom(element);
        if (chart) {
          chart.resize();
        }
      });
    }, 120);
  });

  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    draw(event.target);
  });
})();
