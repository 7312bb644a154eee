// FerroMQ dashboard: sends the action forms as JSON and draws the charts as inline SVG.
// Everything shown from an answer goes through textContent, never innerHTML.
"use strict";

(function () {
  var COLORS = ["#1f5fbf", "#e07b00", "#1d8a4a", "#b83232", "#7a4ec2", "#0f8c8c"];

  function formJson(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name) out[el.name] = el.value;
    });
    return out;
  }

  function show(form, ok, text) {
    var pre = form.querySelector("pre.result");
    pre.className = "result " + (ok ? "ok" : "fail");
    pre.textContent = text;
  }

  document.querySelectorAll("form.api").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var ask = form.getAttribute("data-confirm");
      if (ask && !window.confirm(ask)) return;
      show(form, true, "…");
      fetch(form.getAttribute("data-api"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(formJson(form)),
      })
        .then(function (r) {
          return r.text().then(function (t) {
            var body;
            try { body = JSON.parse(t); } catch (e) { body = { error: t }; }
            return { ok: r.ok, status: r.status, body: body };
          });
        })
        .then(function (r) {
          if (r.ok) {
            show(form, true, r.body.message || "done");
            form.setAttribute("data-done", "1");
            if (form.getAttribute("data-reload")) setTimeout(function () { location.reload(); }, 800);
          } else {
            show(form, false, r.status + ": " + (r.body.error || "failed"));
          }
        })
        .catch(function (e) { show(form, false, "request failed: " + e); });
    });
  });

  var NS = "http://www.w3.org/2000/svg";
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function hhmmss(ms) { return new Date(ms).toISOString().substr(11, 8); }

  function draw(svg, data) {
    var W = 600, H = 200, L = 48, B = 20, T = 8;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var series = (data.series || []).filter(function (s) { return s.points.length; });
    var legend = svg.parentNode.querySelector(".legend");
    legend.textContent = "";
    if (!series.length) {
      svg.appendChild(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "collecting samples…"));
      return;
    }
    var t0 = Infinity, t1 = -Infinity, vmax = 0;
    series.forEach(function (s) {
      s.points.forEach(function (p) {
        t0 = Math.min(t0, p[0]); t1 = Math.max(t1, p[0]); vmax = Math.max(vmax, p[1]);
      });
    });
    if (t1 === t0) t1 = t0 + 1;
    if (vmax <= 0) vmax = 1;
    var x = function (t) { return L + (W - L - 4) * (t - t0) / (t1 - t0); };
    var y = function (v) { return T + (H - T - B) * (1 - v / vmax); };
    for (var i = 0; i <= 4; i++) {
      var v = vmax * i / 4, yy = y(v);
      svg.appendChild(el("line", { x1: L, x2: W, y1: yy, y2: yy, stroke: "#e7e9ee" }));
      svg.appendChild(el("text", { x: L - 4, y: yy + 4, "text-anchor": "end" }, (Math.round(v * 10) / 10).toString()));
    }
    svg.appendChild(el("text", { x: L, y: H - 4 }, hhmmss(t0)));
    svg.appendChild(el("text", { x: W - 4, y: H - 4, "text-anchor": "end" }, hhmmss(t1)));
    series.forEach(function (s, n) {
      var color = COLORS[n % COLORS.length];
      var pts = s.points.map(function (p) { return x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1); });
      if (pts.length === 1) pts.push((x(s.points[0][0]) + 2).toFixed(1) + "," + y(s.points[0][1]).toFixed(1));
      svg.appendChild(el("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 2, "class": "series" }));
      var item = document.createElement("span");
      var dot = document.createElement("i");
      dot.style.background = color;
      item.appendChild(dot);
      item.appendChild(document.createTextNode(s.name + " (last " + s.points[s.points.length - 1][1] + ")"));
      legend.appendChild(item);
    });
    svg.setAttribute("data-drawn", "1");
  }

  document.querySelectorAll("svg[data-src]").forEach(function (svg) {
    function load() {
      fetch(svg.getAttribute("data-src"))
        .then(function (r) { return r.json(); })
        .then(function (d) { draw(svg, d); })
        .catch(function () {});
    }
    load();
    setInterval(load, 5000);
  });
})();
