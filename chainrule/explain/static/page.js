// chainrule explain page: shows the steps computed in Python; fetches nothing.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cr-data").textContent);
  var steps = data.steps, last = steps.length - 1, at = 0, timer = null;
  var $ = function (id) { return document.getElementById(id); };
  var slider = $("cr-slider"), counter = $("cr-counter");
  var nodes = {}, edges = [], rows = {};

  Array.prototype.forEach.call(document.querySelectorAll("#cr-graph-wrap .cr-node"), function (g) {
    nodes[g.getAttribute("data-node")] = g;
    Array.prototype.forEach.call(g.querySelectorAll(".cr-v"), function (v) {
      v.setAttribute("data-full", v.textContent);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("#cr-graph-wrap .cr-edge"), function (g) {
    edges[Number(g.id.split("-e").pop())] = g;
  });
  Array.prototype.forEach.call(document.querySelectorAll("#cr-table tbody.cr-row"), function (r) {
    var n = r.getAttribute("data-node");
    if (n !== null) { (rows[n] = rows[n] || []).push(r); }
  });

  function reveal(g, cls, shown) {
    Array.prototype.forEach.call(g.querySelectorAll(cls + " .cr-v"), function (v) {
      v.textContent = shown ? v.getAttribute("data-full") : "?";
      v.classList.toggle("cr-unknown", !shown);
    });
  }

  function show(k) {
    at = Math.max(0, Math.min(last, k));
    var s = steps[at], now = s.node === null ? null : String(s.node);
    Object.keys(nodes).forEach(function (i) {
      var g = nodes[i], n = Number(i);
      reveal(g, ".cr-val", data.vstep[n] <= at);
      reveal(g, ".cr-grad", data.gstep[n] <= at);
      g.classList.toggle("cr-now", i === now);
      g.classList.toggle("cr-later", data.vstep[n] > at);
    });
    edges.forEach(function (g, k) {
      if (!g) { return; }
      var into = g.getAttribute("data-dst") === now;
      g.classList.toggle("cr-off", data.estep[k] > at);
      g.classList.toggle("cr-flow", into && s.phase === "forward");
      g.classList.toggle("cr-back", into && s.phase !== "forward" && data.estep[k] === at);
    });
    Array.prototype.forEach.call(document.querySelectorAll("#cr-table tbody.cr-now"), function (r) {
      r.classList.remove("cr-now");
    });
    if (s.row !== null) {
      var r = document.querySelector("#cr-table tbody[data-row='" + s.row + "']");
      if (r) { r.classList.add("cr-now"); }
    }
    var phase = { start: "ready", forward: "forward pass", seed: "backward pass · seed",
                  backward: "backward pass", leaf: "backward pass · leaf", done: "done" }[s.phase];
    $("cr-phase").textContent = phase;
    $("cr-phase").className = "cr-phase-" + s.phase;
    $("cr-title").textContent = s.title;
    var ul = $("cr-lines");
    ul.textContent = "";
    s.lines.forEach(function (line) {
      var li = document.createElement("li");
      li.textContent = line;
      ul.appendChild(li);
    });
    slider.value = String(at);
    counter.textContent = "step " + at + " of " + last + " · " + phase;
    if (now !== null && nodes[now] && nodes[now].scrollIntoView &&
        !$("cr-graph-wrap").classList.contains("cr-fit")) {
      nodes[now].scrollIntoView({ block: "nearest", inline: "nearest" });
    }
    document.body.setAttribute("data-step", String(at));
  }

  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    $("cr-play").textContent = "▶ play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (at >= last) { show(0); }
    $("cr-play").textContent = "⏸ pause";
    timer = setInterval(function () {
      if (at >= last) { stop(); } else { show(at + 1); }
    }, 1100);
  }

  slider.max = String(last);
  slider.addEventListener("input", function () { stop(); show(Number(slider.value)); });
  $("cr-first").addEventListener("click", function () { stop(); show(0); });
  $("cr-prev").addEventListener("click", function () { stop(); show(at - 1); });
  $("cr-next").addEventListener("click", function () { stop(); show(at + 1); });
  $("cr-last").addEventListener("click", function () { stop(); show(last); });
  $("cr-play").addEventListener("click", play);
  function fit() {
    var on = $("cr-graph-wrap").classList.toggle("cr-fit");
    $("cr-fit").textContent = on ? "actual size" : "fit";
  }
  $("cr-fit").addEventListener("click", fit);
  document.addEventListener("keydown", function (ev) {
    if (ev.target === slider || ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    if (ev.key in moves) { stop(); show(at + moves[ev.key]); }
    else if (ev.key === "Home") { stop(); show(0); }
    else if (ev.key === "End") { stop(); show(last); }
    else if (ev.key === " " && ev.target.tagName !== "BUTTON") { play(); }
    else if (ev.key === "f") { fit(); }
    else { return; }
    ev.preventDefault();
  });

  // the table and the picture light each other up
  function light(n, on) {
    if (nodes[n]) { nodes[n].classList.toggle("cr-lit", on); }
    (rows[n] || []).forEach(function (r) { r.classList.toggle("cr-lit", on); });
  }
  Object.keys(rows).forEach(function (n) {
    rows[n].forEach(function (r) {
      r.addEventListener("mouseenter", function () { light(n, true); });
      r.addEventListener("mouseleave", function () { light(n, false); });
      r.addEventListener("click", function () {
        var k = data.rowstep[r.getAttribute("data-row")];
        if (k !== undefined) { stop(); show(k); }
      });
    });
  });
  Object.keys(nodes).forEach(function (n) {
    nodes[n].addEventListener("mouseenter", function () { light(n, true); });
    nodes[n].addEventListener("mouseleave", function () { light(n, false); });
    nodes[n].addEventListener("click", function () {
      var mine = steps.map(function (s, k) { return s.node === Number(n) ? k : -1; })
        .filter(function (k) { return k > at; });
      if (mine.length) { stop(); show(mine[0]); }
    });
  });

  show(0);
  document.body.setAttribute("data-ready", "1");
})();
