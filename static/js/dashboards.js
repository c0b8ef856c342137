/* Dashboards: draws the charts of the home pages from the json_script data (#dash-charts).
 *
 * No inline script (CSP script-src 'self'); labels arrive in the page's language from the
 * server, and ECharts' own texts follow <html lang>. Charts use the SVG renderer so they print
 * crisply on the A4 briefing. A click on a bar, point or funnel step opens the list behind it.
 */
(function () {
  "use strict";

  var dataNode = document.getElementById("dash-charts");
  if (!dataNode || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(dataNode.textContent);
  var lang = (document.documentElement.lang || "zh").toLowerCase();
  var locale = lang.indexOf("en") === 0 ? "EN" : "ZH";
  var palette = ["#0d6efd", "#20c997", "#fd7e14", "#dc3545", "#6f42c1", "#6c757d"];
  var charts = [];

  function go(url) {
    if (url) {
      window.location.href = url;
    }
  }

  function init(el) {
    var chart = echarts.init(el, null, { renderer: "svg", locale: locale });
    charts.push(chart);
    return chart;
  }

  var base = {
    color: palette,
    textStyle: { fontFamily: "inherit" },
    animation: false,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0, itemWidth: 12, itemHeight: 8, textStyle: { fontSize: 11 } },
    grid: { left: 8, right: 16, top: 28, bottom: 4, containLabel: true }
  };

  function merge(extra) {
    var out = {};
    Object.keys(base).forEach(function (k) { out[k] = base[k]; });
    Object.keys(extra).forEach(function (k) { out[k] = extra[k]; });
    return out;
  }

  function ranking(el, spec) {
    var chart = init(el);
    // Worst first at the top: a category y-axis draws bottom-up, so invert it.
    var yAxis = { type: "category", data: spec.labels, inverse: true,
                  axisLabel: { fontSize: 11, interval: 0 } };
    var series;
    var xAxis;
    if (spec.kind === "rates") {
      var values = [];
      spec.series.forEach(function (s) {
        s.data.forEach(function (v) { if (v !== null) { values.push(v); } });
      });
      var low = values.length ? Math.min.apply(null, values) : 95;
      xAxis = { type: "value", min: Math.max(0, Math.floor(low - 0.5)), max: 100,
                axisLabel: { formatter: "{value}%" } };
      series = spec.series.map(function (s, i) {
        var line = spec.targets && spec.targets[i];
        return {
          name: s.name, type: "bar", data: s.data, barMaxWidth: 10,
          markLine: line ? { symbol: "none", silent: true, label: { show: false },
                             lineStyle: { type: "dashed", color: palette[3] },
                             data: [{ xAxis: line.value, name: line.name }] } : undefined
        };
      });
    } else {
      xAxis = { type: "value", minInterval: 1 };
      series = spec.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "todo", data: s.data, barMaxWidth: 14 };
      });
    }
    chart.setOption(merge({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
                 valueFormatter: spec.kind === "rates" ? function (v) {
                   return v === null || v === undefined ? "—" : v.toFixed(2) + "%";
                 } : undefined },
      xAxis: xAxis, yAxis: yAxis, series: series
    }));
    chart.on("click", function (params) { go(spec.urls[params.dataIndex]); });
  }

  function trend(el, spec) {
    var chart = init(el);
    chart.setOption(merge({
      xAxis: { type: "category", data: spec.labels, axisLabel: { fontSize: 10 } },
      yAxis: { type: "value", minInterval: 1 },
      series: spec.series.map(function (s, i) {
        return i === 0
          ? { name: s.name, type: "bar", data: s.data, barMaxWidth: 18 }
          : { name: s.name, type: "line", data: s.data, symbolSize: 6 };
      })
    }));
    chart.on("click", function (params) {
      go(spec.series[params.seriesIndex].urls[params.dataIndex]);
    });
  }

  function funnel(el, spec) {
    var chart = init(el);
    chart.setOption({
      color: palette,
      animation: false,
      tooltip: { trigger: "item" },
      series: [{
        type: "funnel", sort: "none", left: "8%", right: "8%", top: 6, bottom: 6,
        minSize: "34%", gap: 2,
        label: { position: "inside", formatter: "{b}  {c}", fontSize: 11, color: "#fff" },
        data: spec.steps.map(function (s) { return { name: s.name, value: s.value }; })
      }]
    });
    chart.on("click", function (params) { go(spec.steps[params.dataIndex].url); });
  }

  function rules(el, spec) {
    var chart = init(el);
    chart.setOption(merge({
      color: ["#dc3545", "#20c997", "#fd7e14", "#adb5bd"],
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: spec.labels, inverse: true, axisLabel: { fontSize: 11 } },
      series: spec.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "rules", data: s.data, barMaxWidth: 14 };
      })
    }));
    chart.on("click", function (params) {
      go(spec.series[params.seriesIndex].urls[params.dataIndex]);
    });
  }

  function empty(el, spec) {
    var chart = init(el);
    chart.setOption({
      title: { text: spec.emptyText, left: "center", top: "middle",
               textStyle: { color: "#adb5bd", fontSize: 13, fontWeight: "normal" } }
    });
  }

  var draw = { ranking: ranking, trend: trend, funnel: funnel, rules: rules };
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var key = el.getAttribute("data-chart");
    var spec = data[key];
    if (spec && spec.empty) {
      empty(el, spec);
    } else if (spec && draw[key]) {
      draw[key](el, spec);
    }
  });

  function resizeAll() {
    charts.forEach(function (c) { c.resize(); });
  }
  window.addEventListener("resize", resizeAll);
  // The A4 briefing lays the page out narrower: redraw before printing and after.
  if (window.matchMedia) {
    var mq = window.matchMedia("print");
    if (mq.addEventListener) {
      mq.addEventListener("change", resizeAll);
    }
  }
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
  document.querySelectorAll("[data-dash-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.documentElement.setAttribute("data-charts-ready", String(charts.length));
})();
