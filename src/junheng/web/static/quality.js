// Charts of the 教育质量监测 pages (ECharts, served locally): level shares as stacked bars (one
// bar per school or county) and score histograms (students per score band; on a school's page the
// share of its students and of the county's per band, so the two compare).
// The data comes from [data-quality-chart] (JSON written by the server with |tojson).
// A tooltip formatter returns HTML: every value put into it goes through escapeHtml (a school
// may be named "X<img src=x onerror=…>"). Axis labels and legends are drawn on the canvas.
(function () {
  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var LEVEL_COLORS = ["#cf222e", "#d4a72c", "#4ac26b", "#1a7f37"];
  var SERIES_COLORS = ["#0b4f8a", "#9a6700", "#8250df"];

  function fmt(v, unit) {
    if (v === null || v === undefined) { return "—"; }
    return unit === "%" ? Number(v).toFixed(1) + "%" : String(v) + " " + unit;
  }
  // canvas labels (not HTML): named, so that every inline `formatter: function` is a tooltip's
  function percentLabel(value) { return value + "%"; }

  function sharesChart(el, d) {
    el.style.height = Math.max(150, 44 * d.rows.length + 96) + "px";
    var labelWidth = Math.round(Math.max(80, Math.min(220, el.clientWidth * 0.28)));
    var series = d.levels.map(function (name, i) {
      return { name: name, type: "bar", stack: "shares", barMaxWidth: 32, itemStyle: { color: LEVEL_COLORS[i] },
        data: d.values.map(function (row) { return row[i]; }) };
    });
    var chart = echarts.init(el);
    chart.setOption({
      legend: { top: 0, data: d.levels },
      grid: { left: 8, right: 28, top: 36, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (items) {
        var lines = [escapeHtml(items[0].axisValue)];
        items.forEach(function (p) {
          lines.push(p.marker + escapeHtml(p.seriesName + ":" + fmt(p.value, "%")));
        });
        return lines.join("<br>");
      } },
      xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: percentLabel } },
      yAxis: { type: "category", data: d.rows, inverse: true, axisLabel: { width: labelWidth, overflow: "truncate" } },
      series: series
    });
    return chart;
  }

  function histogramChart(el, d) {
    var chart = echarts.init(el);
    chart.setOption({
      legend: { top: 0, type: "scroll", data: d.series.map(function (s) { return s.name; }) },
      grid: { left: 8, right: 16, top: 44, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (items) {
        var lines = [escapeHtml("分数段 " + items[0].axisValue)];
        items.forEach(function (p) {
          lines.push(p.marker + escapeHtml(p.seriesName + ":" + fmt(p.value, d.unit)));
        });
        return lines.join("<br>");
      } },
      xAxis: { type: "category", data: d.bins, axisLabel: { rotate: 45, fontSize: 10 } },
      yAxis: { type: "value", name: d.unit === "%" ? "学生占比(%)" : "学生数(人)", min: 0, minInterval: d.unit === "%" ? 0 : 1,
        nameTextStyle: { align: "left", padding: [0, 0, 4, -4] } },
      series: d.series.map(function (s, i) {
        return { name: s.name, type: "bar", data: s.data, barGap: "10%", itemStyle: { color: SERIES_COLORS[i % SERIES_COLORS.length] } };
      })
    });
    return chart;
  }

  var charts = [];
  function start() {
    document.querySelectorAll("[data-quality-chart]").forEach(function (el) {
      var d = JSON.parse(el.getAttribute("data-quality-chart"));
      charts.push(d.kind === "shares" ? sharesChart(el, d) : histogramChart(el, d));
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
