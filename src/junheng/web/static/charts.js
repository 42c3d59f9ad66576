// Charts of the county dashboard (ECharts, served locally).
// A tooltip formatter returns HTML: every value put into it goes through escapeHtml (a school
// may be named "X<img src=x onerror=…>"). Axis labels and legends are drawn on the canvas.
(function () {
  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function cvChart(el) {
    var d = JSON.parse(el.dataset.chart);
    var chart = echarts.init(el);
    chart.setOption({
      grid: { left: 40, right: 10, top: 20, bottom: 30 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.indicators },
      yAxis: { type: "value", name: "差异系数" },
      series: [{
        type: "bar", data: d.values.map(function (v) {
          return { value: v === null ? 0 : Number(v.toFixed(3)), itemStyle: { color: v !== null && v <= d.limit ? "#1a7f37" : "#cf222e" } };
        }),
        markLine: { symbol: "none", data: [{ yAxis: d.limit, name: "上限" }], lineStyle: { color: "#9a6700", type: "dashed" } }
      }]
    });
    return chart;
  }
  function heatmap(el) {
    var d = JSON.parse(el.dataset.chart);
    el.style.height = Math.max(320, 24 * d.y.length + 80) + "px";
    var chart = echarts.init(el);
    chart.setOption({
      grid: { left: 220, right: 20, top: 30, bottom: 30 },
      tooltip: { formatter: function (p) {
        var r = p.value[3];
        return escapeHtml(d.y[p.value[1]] + " " + d.x[p.value[0]] + ":" +
          (p.value[2] === 1 ? "达标" : p.value[2] === 0 ? "未达标" : "数据缺失") +
          (r === null ? "" : "(达标值的 " + Math.round(r * 100) + "%)"));
      } },
      xAxis: { type: "category", data: d.x, position: "top" },
      yAxis: { type: "category", data: d.y, inverse: true, axisLabel: { width: 200, overflow: "truncate" } },
      visualMap: { type: "piecewise", show: true, orient: "horizontal", left: "center", bottom: 0, dimension: 2,
        pieces: [{ value: 1, label: "达标", color: "#4ac26b" }, { value: 0, label: "未达标", color: "#cf222e" }, { value: -1, label: "数据缺失", color: "#d4a72c" }] },
      series: [{ type: "heatmap", data: d.cells, itemStyle: { borderColor: "#fff", borderWidth: 1 } }]
    });
    return chart;
  }
  var charts = [];
  document.querySelectorAll("[id^=cv-]").forEach(function (el) { charts.push(cvChart(el)); });
  var hm = document.getElementById("heatmap");
  if (hm) { charts.push(heatmap(hm)); }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
