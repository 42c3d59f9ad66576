// Charts of the county dashboard (ECharts, served locally).
// A tooltip formatter returns HTML: every value put into it goes through escapeHtml (a school
// may be named "X<img src=x onerror=…>"). Axis labels and legends are drawn on the canvas.
// Every value axis with a limit line reaches past that line (axisTop): the line is always drawn.
(function () {
  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  // the top of a value axis that starts at 0: above the largest value and the limit, with room
  // for the bar labels, rounded up to a tenth (0.4 and a limit of 0.5 give 0.6)
  function axisTop(values, limit) {
    var top = Math.max.apply(null, values.concat([limit]));
    return Math.ceil(top * 1.12 * 10 - 1e-9) / 10;
  }
  // a label's width in characters (CJK 1, ASCII about half): for truncating by hand
  function textWidth(text) {
    var n = 0;
    for (var i = 0; i < text.length; i++) { n += text.charCodeAt(i) > 255 ? 1 : 0.55; }
    return n;
  }
  // "示范县东岭镇上庄村九年制学校(初中)" cut to `room` characters keeps its segment: "示范县东岭镇上庄村…(初中)"
  function shortLabel(label, room) {
    if (textWidth(label) <= room) { return label; }
    var m = /^(.*?)(\([^()]*\))$/.exec(label);
    var name = m ? m[1] : label, tail = m ? m[2] : "";
    var keep = room - textWidth(tail) - 1;
    var out = "";
    for (var i = 0; i < name.length && textWidth(out + name[i]) <= keep; i++) { out += name[i]; }
    return out + "…" + tail;
  }
  // canvas labels (not HTML): named, so that every inline `formatter: function` is a tooltip's
  function barLabel(p) { return p.value === null || p.value === undefined ? "" : Number(p.value).toFixed(3); }
  // A segment's CVs: each against its limit (green under it, red over it, the limit dashed), or
  // under a standard that judges their mean (综合差异系数) against a limit, without a limit of
  // their own: red when the segment's composite is over its limit, the composite dashed.
  function cvChart(el) {
    var d = JSON.parse(el.dataset.chart);
    var names = d.names || d.indicators;
    var own = d.limit !== null && d.limit !== undefined;
    var composite = d.composite || null;
    var limit = own ? Number(d.limit) : null;
    var line = own ? limit : (composite && composite.value !== null ? Number(composite.value) : null);
    var values = d.values.map(function (v) { return v === null ? null : Number(v.toFixed(3)); });
    function colour(v) {
      if (own) { return v !== null && v <= limit ? "#1a7f37" : "#cf222e"; }
      return composite && composite.met === false ? "#cf222e" : "#0969da";
    }
    var markLine = line === null ? undefined : { symbol: "none", silent: true, data: [{ yAxis: line, name: own ? "上限" : "综合差异系数" }],
      label: { position: "insideEndTop", color: "#9a6700",
        formatter: own ? "上限 " + limit.toFixed(2) : "综合差异系数 " + line.toFixed(3) + "(上限 " + Number(composite.limit).toFixed(2) + ")" },
      lineStyle: { color: "#9a6700", type: "dashed" } };
    var chart = echarts.init(el);
    chart.setOption({
      grid: { left: 8, right: 16, top: 44, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (items) {
        var i = items[0].dataIndex, v = values[i];
        var lines = [escapeHtml(d.indicators[i] + " " + names[i])];
        if (own) {
          lines.push(escapeHtml("差异系数:" + (v === null ? "数据缺失" : v.toFixed(3)) + "(上限 " + limit.toFixed(2) + ")" +
            (v === null ? "" : v <= limit ? ",达标" : ",超过上限")));
        } else {
          lines.push(escapeHtml("差异系数:" + (v === null ? "数据缺失" : v.toFixed(3)) + "(计入综合差异系数)"));
        }
        return lines.join("<br>");
      } },
      xAxis: { type: "category", data: d.indicators },
      yAxis: { type: "value", name: "差异系数", min: 0,
        max: axisTop(values.filter(function (v) { return v !== null; }), line === null ? 0 : line),
        nameTextStyle: { align: "left", padding: [0, 0, 4, -4] } },
      series: [{
        type: "bar", barMaxWidth: 48,
        data: values.map(function (v) { return { value: v, itemStyle: { color: colour(v) } }; }),
        label: { show: true, position: "top", fontSize: 11, color: "#1f2328", formatter: barLabel },
        markLine: markLine
      }]
    });
    return chart;
  }
  function heatmap(el) {
    var d = JSON.parse(el.dataset.chart);
    var names = d.names || d.x;
    el.style.height = Math.max(320, 24 * d.y.length + 80) + "px";
    var labelWidth = Math.round(Math.max(110, Math.min(230, el.clientWidth * 0.3)));
    var room = Math.floor(labelWidth / 12);  // characters of 12 px that fit
    var schoolLabel = function (value) { return shortLabel(value, room); };  // canvas text
    var chart = echarts.init(el);
    chart.setOption({
      grid: { left: labelWidth + 10, right: 16, top: 30, bottom: 40 },
      tooltip: { formatter: function (p) {
        var r = p.value[3];
        var lines = [d.y[p.value[1]] + " " + d.x[p.value[0]] + ":" +
          (p.value[2] === 1 ? "达标" : p.value[2] === 0 ? "未达标" : "数据缺失") +
          (r === null ? "" : "(达标值的 " + Math.round(r * 100) + "%)"), names[p.value[0]]];
        return lines.map(escapeHtml).join("<br>");
      } },
      xAxis: { type: "category", data: d.x, position: "top", triggerEvent: true,
        tooltip: { show: true, formatter: function (p) { return escapeHtml(p.value + " " + names[d.x.indexOf(p.value)]); } } },
      yAxis: { type: "category", data: d.y, inverse: true, triggerEvent: true,
        axisLabel: { width: labelWidth, overflow: "truncate", formatter: schoolLabel },
        // the full name of a school whose label is cut, on hover
        tooltip: { show: true, formatter: function (p) { return escapeHtml(p.value); } } },
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
