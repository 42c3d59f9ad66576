// Trend and forecast charts (ECharts, served locally from /static/vendor/echarts).
// The county and school pages carry a placeholder [data-trends-src] (templates/_trends.html):
// its section is fetched after the page has loaded, then its charts are drawn. ECharts is
// loaded here when the page has not loaded it already, from the versioned URL the page gives
// (data-echarts on this script's tag: cached for a year like every static file).
// A tooltip formatter returns HTML: every value put into it goes through escapeHtml (names and
// labels come from the data); p.marker is ECharts' own colour dot.
(function () {
  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  var ECHARTS_URL = (document.currentScript && document.currentScript.dataset.echarts) ||
    "/static/vendor/echarts/echarts.min.js";
  var charts = [];
  var COLORS = ["#0b4f8a", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#0a7ea4", "#bf3989"];

  function withEcharts(done) {
    if (window.echarts) { done(); return; }
    var script = document.querySelector("script[data-echarts-loader]");
    if (!script) {
      script = document.createElement("script");
      script.src = ECHARTS_URL;
      script.setAttribute("data-echarts-loader", "1");
      document.head.appendChild(script);
    }
    script.addEventListener("load", done);
  }

  function fmt(v, digits) {
    return v === null || v === undefined ? "—" : String(Number(v.toFixed(digits)));
  }

  function lineChart(el) {
    var d = JSON.parse(el.dataset.trendChart);
    var digits = d.kind === "cv" ? 3 : 1;
    var series = d.series.map(function (s, i) {
      return { name: s.name, type: "line", data: s.data, symbolSize: 6, itemStyle: { color: COLORS[i % COLORS.length] } };
    });
    var labels = {};
    d.series.forEach(function (s) { labels[s.name] = s.label; });
    if (d.mark !== null && series.length) {
      // a limit reads as the dashboard writes it (上限 0.50), inside the grid so it is never clipped
      var markLabel = d.kind === "cv" ? "上限 " + Number(d.mark).toFixed(2) : d.mark_label;
      series[0].markLine = { symbol: "none", silent: true, label: { formatter: markLabel, position: "insideEndTop" },
        data: [{ yAxis: d.mark }], lineStyle: { color: "#cf222e", type: "dashed" } };
      // an invisible line at the limit keeps it inside the axis range
      series.push({ name: "_mark", type: "line", data: d.years.map(function () { return d.mark; }), symbol: "none",
        lineStyle: { opacity: 0 }, silent: true, tooltip: { show: false } });
    }
    var chart = echarts.init(el);
    chart.setOption({
      grid: { left: 52, right: 24, top: 48, bottom: 28 },
      // the legend names R1–R7; hovering one shows the indicator's name
      legend: { top: 0, type: "scroll", itemWidth: 16, itemHeight: 10, itemGap: 8, data: d.series.map(function (s) { return s.name; }),
        tooltip: { show: true, formatter: function (p) { return escapeHtml(p.name + " " + (labels[p.name] || "")); } } },
      tooltip: { trigger: "axis", formatter: function (items) {
        var lines = [escapeHtml(items[0].axisValue + " 学年")];
        items.filter(function (p) { return p.seriesIndex < d.series.length; }).forEach(function (p) {
          var s = d.series[p.seriesIndex];
          lines.push(p.marker + escapeHtml(s.name + " " + s.label + ":" + fmt(p.value, digits) +
            (d.kind === "share" && p.value !== null ? "%" : "")));
        });
        return lines.join("<br>");
      } },
      xAxis: { type: "category", data: d.years.map(String), boundaryGap: false },
      // a gap below and above the lines: a limit at the edge of the data is not drawn on the axis line
      yAxis: { type: "value", name: d.y_name, scale: true, boundaryGap: ["8%", "8%"] },
      series: series
    });
    charts.push(chart);
  }

  function bandChart(el) {
    var d = JSON.parse(el.dataset.forecastChart);
    var width = d.high.map(function (h, i) { return h - d.low[i]; });
    var series = [
      { name: "区间下限", type: "line", data: d.low, stack: "band", symbol: "none", lineStyle: { opacity: 0 }, silent: true },
      { name: "预测区间", type: "line", data: width, stack: "band", symbol: "none", lineStyle: { opacity: 0 },
        areaStyle: { color: "rgba(11, 79, 138, 0.18)" }, itemStyle: { color: "rgba(11, 79, 138, 0.35)" }, silent: true },
      { name: "在校生(中位)", type: "line", data: d.mid, symbolSize: 7, itemStyle: { color: "#0b4f8a" } }
    ];
    if (d.capacity) {
      series.push({ name: "学位容量", type: "line", data: d.capacity, symbol: "none",
        lineStyle: { type: "dashed", color: "#cf222e" }, itemStyle: { color: "#cf222e" } });
    }
    var chart = echarts.init(el);
    chart.setOption({
      grid: { left: 60, right: 24, top: 48, bottom: 28 },
      legend: { top: 0, data: ["在校生(中位)", "预测区间", "学位容量"] },
      tooltip: { trigger: "axis", formatter: function (items) {
        var i = items[0].dataIndex;
        var lines = [d.years[i] + " 学年" + (i === 0 ? "(实际)" : "(预测)"), "在校生:" + d.mid[i] + " 人"];
        if (i > 0) { lines.push("区间:" + d.low[i] + " 至 " + d.high[i] + " 人"); }
        if (d.capacity) { lines.push("学位容量:" + d.capacity[i] + " 人"); }
        return lines.map(escapeHtml).join("<br>");
      } },
      xAxis: { type: "category", data: d.years.map(String), boundaryGap: false },
      yAxis: { type: "value", name: "人", scale: true },
      series: series
    });
    charts.push(chart);
  }

  function draw(root) {
    root.querySelectorAll("[data-trend-chart]").forEach(lineChart);
    root.querySelectorAll("[data-forecast-chart]").forEach(bandChart);
  }

  function load(box) {
    var src = box.getAttribute("data-trends-src");
    var page = src.split("?")[0];
    fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected) { throw new Error("login"); }
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        box.setAttribute("aria-busy", "false");
        if (box.querySelector("[data-trend-chart]")) { withEcharts(function () { draw(box); }); }
      })
      .catch(function (error) {
        box.setAttribute("aria-busy", "false");
        box.innerHTML = "";
        var p = document.createElement("p");
        p.className = "note";
        p.appendChild(document.createTextNode(error.message === "login" ? "登录已过期,请刷新页面后重新登录。" : "历年趋势加载失败。"));
        var a = document.createElement("a");
        a.href = page;
        a.textContent = "单独打开趋势页面";
        p.appendChild(a);
        box.appendChild(p);
      });
  }

  function start() {
    document.querySelectorAll("[data-trends-src]").forEach(load);
    if (document.querySelector("[data-trend-chart], [data-forecast-chart]")) { withEcharts(function () { draw(document); }); }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
