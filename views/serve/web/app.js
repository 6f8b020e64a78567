"use strict";
// gnomon's status page: the report every 5 s, the plots every 30 s.
function $(id) { return document.getElementById(id); }
function fmtS(s) {
  var a = Math.abs(s);
  if (a < 1e-6) return (s * 1e9).toFixed(0) + " ns";
  if (a < 1e-3) return (s * 1e6).toFixed(2) + " µs";
  if (a < 1) return (s * 1e3).toFixed(3) + " ms";
  return s.toFixed(3) + " s";
}
function text(id, v) { $(id).textContent = v; }

function showReport(r) {
  var t = r.tracking, st = $("state");
  var since = "";
  if (t.synced && t.synced_since && t.synced_since.indexOf("0001-") !== 0) {
    var d = new Date(t.synced_since), secs = Math.round((new Date(r.time) - d) / 1000);
    since = " since " + d.toISOString().slice(11, 19) + " UTC (" + (secs < 3600 ? Math.round(secs / 60) + " min" : (secs / 3600).toFixed(1) + " h") + ")";
  }
  st.textContent = (t.synced ? "synchronised" : "not synchronised") + since;
  st.className = "badge " + (t.synced ? "ok" : "bad");
  text("stratum", t.stratum);
  text("refid", t.reference + (t.peer ? " (" + t.peer + ")" : ""));
  text("offset", fmtS(t.offset_s));
  text("freq", t.freq_ppm.toFixed(3) + " ppm");
  text("update", t.last_update_ago_s ? t.last_update_ago_s.toFixed(1) + " s ago" : "never");
  var rv = r.receiver;
  text("sats", rv ? rv.sats_used + " used / " + rv.sats_in_view + " in view" : "–");
  text("fix", rv ? (rv.fix >= 2 ? rv.fix + "D" : "none") + (rv.valid ? "" : " (not valid)") + (rv.locked ? ", PPS locked" : "") : "–");
  var c = r.counters;
  text("requests", c.served + " served");
  var al = $("alarms");
  al.textContent = "";
  (r.warnings || []).concat(t.alarm ? [t.alarm] : []).forEach(function (w) {
    var li = document.createElement("li");
    li.textContent = w;
    al.appendChild(li);
  });
  var tb = $("sources").tBodies[0];
  tb.textContent = "";
  (r.sources || []).forEach(function (s) {
    var tr = document.createElement("tr");
    [s.tally, s.remote, s.refid, s.stratum, s.when_s < 0 ? "-" : Math.round(s.when_s), s.reach.toString(8),
     (s.offset_s * 1e3).toFixed(4), (s.jitter_s * 1e3).toFixed(4), s.state].forEach(function (v) {
      var td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    });
    tb.appendChild(tr);
  });
  drawSky(rv ? rv.sky || [] : []);
}

function drawPlot(cv, pts) {
  var g = cv.getContext("2d"), w = cv.width, h = cv.height, f = cv.dataset.field, k = +cv.dataset.scale;
  g.clearRect(0, 0, w, h);
  g.fillStyle = "#666";
  g.font = "11px sans-serif";
  g.fillText(cv.dataset.title + " (" + cv.dataset.unit + ")", 4, 12);
  if (pts.length < 2) { g.fillText("collecting…", w / 2 - 30, h / 2); return false; }
  var lo = Infinity, hi = -Infinity;
  pts.forEach(function (p) { var v = p[f] * k; if (v < lo) lo = v; if (v > hi) hi = v; });
  if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
  var t0 = pts[0].t, t1 = pts[pts.length - 1].t, L = 50, T = 16, W = w - L - 4, H = h - T - 14;
  g.strokeStyle = "#ddd";
  g.strokeRect(L, T, W, H);
  g.fillText(hi.toPrecision(4), 2, T + 8);
  g.fillText(lo.toPrecision(4), 2, T + H);
  g.strokeStyle = "#1565c0";
  g.lineWidth = 1.5;
  g.beginPath();
  pts.forEach(function (p, i) {
    var x = L + (p.t - t0) / Math.max(t1 - t0, 1) * W, y = T + H - (p[f] * k - lo) / (hi - lo) * H;
    if (i) g.lineTo(x, y); else g.moveTo(x, y);
  });
  g.stroke();
  return true;
}

function drawSky(sky) {
  var cv = $("sky"), g = cv.getContext("2d"), r = cv.width / 2 - 14, cx = cv.width / 2, cy = cv.height / 2;
  g.clearRect(0, 0, cv.width, cv.height);
  g.strokeStyle = "#bbb";
  [90, 60, 30].forEach(function (e) { g.beginPath(); g.arc(cx, cy, r * e / 90, 0, 2 * Math.PI); g.stroke(); });
  g.fillStyle = "#666";
  g.font = "11px sans-serif";
  g.fillText("N", cx - 4, 11);
  sky.forEach(function (s) {
    var d = r * (90 - s.elevation_deg) / 90, a = s.azimuth_deg * Math.PI / 180;
    var x = cx + d * Math.sin(a), y = cy - d * Math.cos(a);
    g.fillStyle = s.snr_db > 0 ? "hsl(" + Math.min(s.snr_db * 3, 120) + ",70%,40%)" : "#aaa";
    g.beginPath(); g.arc(x, y, 6, 0, 2 * Math.PI); g.fill();
    g.fillStyle = "#222";
    g.fillText(s.prn, x + 7, y + 4);
  });
  cv.dataset.satellites = sky.length;
}

function get(url, f) {
  fetch(url, { cache: "no-store" }).then(function (r) { return r.json(); }).then(f).catch(function (e) {
    var st = $("state");
    st.textContent = "no answer";
    st.className = "badge bad";
  });
}
function refreshPlots() {
  get("api/plots", function (d) {
    var n = 0;
    document.querySelectorAll("canvas.plot").forEach(function (cv) {
      if (drawPlot(cv, d[cv.id.split("-")[0]] || [])) n++;
    });
    document.body.dataset.plotsDrawn = n;
  });
}
function refreshReport() { get("api/report", showReport); }
refreshReport();
refreshPlots();
setInterval(refreshReport, 5000);
setInterval(refreshPlots, 30000);
