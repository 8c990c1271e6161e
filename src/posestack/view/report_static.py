"""The report's inline style sheet and the skeleton player's script (hand-written, no
libraries: the page opens without a network)."""

from __future__ import annotations

PLAYER_BACKGROUND = "#14212e"
"""The player canvas's background (tests find the canvas by it)."""
PLAYER_COLOURS = {"l": "#00c800", "r": "#ff8000", "m": "#3399ff"}
"""Skeleton edges: the person's left side, right side, midline (the overlay's colours)."""

CSS = """
:root { --ink:#1d2733; --muted:#5b6773; --rule:#dde3e9; --soft:#f4f6f8; --accent:#1f4e79;
  --amber:#b7791f; --amber-bg:#fff8e6; --red:#b42318; --red-bg:#fef3f2; }
* { box-sizing:border-box; }
html { -webkit-text-size-adjust:100%; }
body { margin:0; background:#eef1f4; color:var(--ink);
  font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
.page { max-width:1180px; margin:0 auto; background:#fff; min-height:100vh;
  box-shadow:0 0 0 1px var(--rule); }
header.top { background:var(--accent); color:#fff; padding:18px 28px 16px; }
header.top h1 { margin:0; font-size:22px; font-weight:600; letter-spacing:.2px; }
header.top .sub { margin-top:4px; color:#d5e2ee; font-size:13px; word-break:break-all; }
main { padding:6px 28px 28px; }
section { margin-top:22px; }
h2 { font-size:17px; font-weight:600; margin:0 0 10px; padding-bottom:6px;
  border-bottom:2px solid var(--rule); color:var(--accent); }
h3 { font-size:14px; font-weight:600; margin:16px 0 6px; }
p { margin:6px 0; }
.muted { color:var(--muted); }
.small { font-size:12.5px; }
code { font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  background:var(--soft); padding:1px 4px; border-radius:3px; }
.cards { display:flex; flex-wrap:wrap; gap:10px; margin-top:16px; }
.card { flex:1 1 130px; border:1px solid var(--rule); border-radius:6px; padding:8px 12px; }
.card .k { font-size:11.5px; text-transform:uppercase; letter-spacing:.5px;
  color:var(--muted); }
.card .v { font-size:18px; font-weight:600; font-variant-numeric:tabular-nums; }
.callout { border-left:4px solid; border-radius:4px; padding:8px 12px; margin-top:14px; }
.callout h3 { margin:0 0 4px; font-size:13.5px; }
.callout ul { margin:4px 0 2px; padding-left:20px; }
.callout li { margin:3px 0; }
.missing { border-color:var(--amber); background:var(--amber-bg); }
.warnings { border-color:var(--red); background:var(--red-bg); }
.info { border-color:#4a7fb0; background:#f1f6fb; }
.warn-inline { color:#8a5a00; background:var(--amber-bg); border-left:3px solid var(--amber);
  padding:4px 8px; }
.movement { display:grid; grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); gap:18px;
  align-items:start; }
.panel { border:1px solid var(--rule); border-radius:6px; padding:10px; }
.panel h3 { margin:0 0 8px; }
video { width:100%; max-height:460px; background:#000; border-radius:4px; display:block; }
#player { width:100%; height:420px; display:block; border-radius:4px;
  background:__BG__; cursor:grab; touch-action:none; }
#player.flat { cursor:default; }
.controls { display:flex; align-items:center; gap:10px; margin-top:8px; flex-wrap:wrap; }
.controls input[type=range] { flex:1 1 200px; }
button, select { font:inherit; font-size:13px; border:1px solid #b9c3cd; background:#fff;
  border-radius:4px; padding:3px 10px; color:var(--ink); cursor:pointer; }
button:hover, select:hover { border-color:var(--accent); }
.time { font-variant-numeric:tabular-nums; color:var(--muted); font-size:12.5px;
  min-width:120px; }
.legend { display:flex; gap:14px; font-size:12.5px; color:var(--muted); margin-top:6px;
  flex-wrap:wrap; }
.sw { display:inline-block; width:14px; height:3px; vertical-align:middle; margin-right:5px;
  border-radius:2px; }
.band { display:inline-block; width:14px; height:10px; vertical-align:middle;
  margin-right:5px; background:rgba(46,125,50,.18); border:1px dashed #2e7d32; }
table { border-collapse:collapse; width:100%; font-size:13px; margin:6px 0 4px; }
th, td { padding:4px 8px; border-bottom:1px solid var(--rule); text-align:left;
  vertical-align:top; }
th { background:var(--soft); font-weight:600; font-size:12px; color:#3b4753;
  white-space:nowrap; }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
tr.sep td { border-top:2px solid var(--rule); }
.out { color:var(--red); font-weight:600; }
.kv td:first-child { width:32%; color:var(--muted); white-space:nowrap; }
.kv td { word-break:break-word; }
.plot { border:1px solid var(--rule); border-radius:6px; padding:6px; margin:8px 0; }
.plot svg { display:block; }
details { margin-top:10px; }
summary { cursor:pointer; color:var(--accent); font-weight:600; }
pre { background:var(--soft); border-radius:4px; padding:10px; overflow:auto;
  font-size:12px; max-height:480px; }
footer { border-top:1px solid var(--rule); padding:12px 28px 20px; font-size:12px;
  color:var(--muted); }
@media print {
  body { background:#fff; } .page { box-shadow:none; }
  .controls, select, #player { display:none; } video { display:none; }
  section { break-inside:avoid-page; }
}
""".replace("__BG__", PLAYER_BACKGROUND)

PLAYER_JS = """
(function () {
  'use strict';
  var el = document.getElementById('player-data');
  var cv = document.getElementById('player');
  if (!el || !cv) { return; }
  var D = JSON.parse(el.textContent);
  var COL = __COLOURS__, BG = '__BG__';
  var ctx = cv.getContext('2d');
  var slider = document.getElementById('player-slider');
  var btn = document.getElementById('player-play');
  var label = document.getElementById('player-time');
  var speedSel = document.getElementById('player-speed');
  var n = D.times.length, is3d = D.mode === '3d';
  var az0 = is3d ? D.azimuth : 0, el0 = is3d ? 0.28 : 0;
  var az = az0, elv = el0, f = 0, playing = false, tnow = 0, last = null;
  for (var i = 0; i < n; i++) {
    if (D.frames[i].some(function (p) { return p !== null; })) { f = i; break; }
  }
  if (n) { tnow = D.times[f]; }
  slider.max = Math.max(0, n - 1);
  if (!is3d) { cv.className = 'flat'; }

  function size() {
    var r = window.devicePixelRatio || 1, w = cv.clientWidth || 640, h = cv.clientHeight || 420;
    if (cv.width !== Math.round(w * r)) {
      cv.width = Math.round(w * r); cv.height = Math.round(h * r);
    }
    ctx.setTransform(r, 0, 0, r, 0, 0);
    return [w, h];
  }
  function project(x, y, z, c, S, W, H) {
    var dx = x - c[0], dy = y - c[1], dz = z - c[2];
    var ca = Math.cos(az), sa = Math.sin(az), ce = Math.cos(elv), se = Math.sin(elv);
    var xr = ca * dx + sa * dy, yr = -sa * dx + ca * dy;
    var up = se * yr + ce * dz, depth = ce * yr - se * dz;
    return [W / 2 + xr * S, H / 2 - up * S, depth];
  }
  function grid(c, S, W, H) {
    var step = D.extent > 1500 ? 1000 : 500, R = D.extent * 2.2;
    var x0 = Math.floor((c[0] - R) / step) * step, y0 = Math.floor((c[1] - R) / step) * step;
    ctx.strokeStyle = '#2a3d52'; ctx.lineWidth = 1;
    for (var g = 0; g <= 2 * R / step + 1; g++) {
      var a = project(x0 + g * step, y0, D.floor, c, S, W, H);
      var b = project(x0 + g * step, y0 + 2 * R + step, D.floor, c, S, W, H);
      var p = project(x0, y0 + g * step, D.floor, c, S, W, H);
      var q = project(x0 + 2 * R + step, y0 + g * step, D.floor, c, S, W, H);
      ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]);
      ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
    }
  }
  function draw() {
    var wh = size(), W = wh[0], H = wh[1];
    ctx.fillStyle = BG; ctx.fillRect(0, 0, W, H);
    if (!n) { return; }
    var c = D.centre[f], S = Math.min(W, H) * 0.44 / D.extent;
    if (is3d) { grid(c, S, W, H); }
    var people = D.frames[f];
    for (var p = 0; p < people.length; p++) {
      var pts = people[p];
      if (!pts) { continue; }
      var P = [], top = null;
      for (var k = 0; k < D.keypoints.length; k++) {
        if (pts[3 * k] === null) { P.push(null); continue; }
        var s = project(pts[3 * k], pts[3 * k + 1], pts[3 * k + 2], c, S, W, H);
        P.push(s);
        if (top === null || s[1] < top[1]) { top = s; }
      }
      var segs = [];
      D.edges.forEach(function (e) {
        var a = P[e[0]], b = P[e[1]];
        if (!a || !b) { return; }
        var sa = D.sides[e[0]], sb = D.sides[e[1]];
        var side = sa === sb ? sa : (sa === 'm' ? sb : (sb === 'm' ? sa : 'm'));
        segs.push([a, b, side, (a[2] + b[2]) / 2]);
      });
      segs.sort(function (u, v) { return v[3] - u[3]; });
      ctx.lineCap = 'round'; ctx.lineWidth = 3.5;
      segs.forEach(function (s) {
        ctx.strokeStyle = COL[s[2]];
        ctx.beginPath(); ctx.moveTo(s[0][0], s[0][1]); ctx.lineTo(s[1][0], s[1][1]); ctx.stroke();
      });
      ctx.fillStyle = '#e8eef4';
      P.forEach(function (s) {
        if (s) { ctx.beginPath(); ctx.arc(s[0], s[1], 2.4, 0, 2 * Math.PI); ctx.fill(); }
      });
      if (top && D.persons.length > 1) {
        ctx.fillStyle = '#cfd8e3'; ctx.font = '12px system-ui, sans-serif';
        ctx.fillText('person ' + D.persons[p], top[0] + 8, top[1] - 8);
      }
    }
    ctx.fillStyle = '#8fa3b8'; ctx.font = '11.5px system-ui, sans-serif';
    ctx.fillText(is3d ? 'drag to rotate \u00b7 double-click to reset' :
                 '2D keypoints (image view)', 10, H - 10);
    slider.value = f;
    label.textContent = 't = ' + D.times[f].toFixed(2) + ' s / ' + D.times[n - 1].toFixed(2) + ' s';
  }
  function frameAt(t) {
    var lo = 0, hi = n - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (D.times[mid] <= t) { lo = mid; } else { hi = mid - 1; }
    }
    return lo;
  }
  function tick(ts) {
    if (!playing) { return; }
    if (last !== null) {
      tnow += (ts - last) / 1000 * parseFloat(speedSel.value);
      if (tnow > D.times[n - 1]) { tnow = D.times[0]; }
      f = frameAt(tnow);
      draw();
    }
    last = ts;
    window.requestAnimationFrame(tick);
  }
  btn.addEventListener('click', function () {
    playing = !playing; btn.textContent = playing ? 'Pause' : 'Play'; last = null;
    if (playing) { window.requestAnimationFrame(tick); }
  });
  slider.addEventListener('input', function () {
    f = parseInt(slider.value, 10); tnow = D.times[f]; draw();
  });
  var drag = null;
  cv.addEventListener('pointerdown', function (e) {
    if (!is3d) { return; }
    drag = [e.clientX, e.clientY]; cv.setPointerCapture(e.pointerId); cv.style.cursor = 'grabbing';
  });
  cv.addEventListener('pointermove', function (e) {
    if (!drag) { return; }
    az -= (e.clientX - drag[0]) * 0.01;
    elv = Math.max(-1.45, Math.min(1.45, elv + (e.clientY - drag[1]) * 0.01));
    drag = [e.clientX, e.clientY]; draw();
  });
  cv.addEventListener('pointerup', function () { drag = null; cv.style.cursor = ''; });
  cv.addEventListener('dblclick', function () { az = az0; elv = el0; draw(); });
  window.addEventListener('resize', draw);
  draw();
})();
(function () {
  var sel = document.getElementById('camera-select');
  if (!sel) { return; }
  sel.addEventListener('change', function () {
    document.querySelectorAll('.overlay-video').forEach(function (v) {
      var on = v.getAttribute('data-camera') === sel.value;
      v.style.display = on ? '' : 'none';
      if (!on && v.pause) { v.pause(); }
    });
  });
})();
""".replace("__COLOURS__", "{" + ", ".join(f"{k}: '{v}'" for k, v in PLAYER_COLOURS.items())
           + "}").replace("__BG__", PLAYER_BACKGROUND)
