// The review station's little script; every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // the language menu applies the choice at once (its button stays for pages without script)
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // the queue: j / k move through the leads, Enter opens the current one
  var queue = document.querySelector("table[data-queue] tbody");
  if (!queue) { return; }
  var rows = Array.prototype.slice.call(queue.rows);
  var current = -1;
  function select(index) {
    if (index < 0 || index >= rows.length) { return; }
    if (current >= 0) { rows[current].classList.remove("current"); }
    current = index;
    rows[current].classList.add("current");
    rows[current].querySelector("a").focus();
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (target && /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) { return; }
    if (event.key === "j") { select(current + 1); event.preventDefault(); }
    if (event.key === "k") { select(current - 1); event.preventDefault(); }
  });
});
// a lead's split view: the divide between reference and questioned, zoom and pan
document.addEventListener("DOMContentLoaded", function () {
  var view = document.querySelector("[data-split]");
  var controls = document.querySelector("[data-split-controls]");
  if (!view || !controls) { return; }
  var stage = view.querySelector(".split-stage");
  var questioned = view.querySelector(".split-questioned");
  var divide = document.getElementById("divide");
  var pitch = Number(view.getAttribute("data-pitch"));
  var margin = 12;  // the overlay's margin, pixels of the picture
  var scale = 1, x = 0, y = 0;
  view.classList.add("live");
  controls.hidden = false;
  function clip() {
    var width = questioned.naturalWidth;
    if (!width) { return; }
    // the questioned copy is moved one panel to the left, onto the reference panel; it shows
    // from the divide to that panel's right edge, the reference copy everywhere else
    var panel = pitch - margin;
    var start = margin + pitch + panel * Number(divide.value) / 100;
    var end = margin + pitch + panel;
    questioned.style.left = (-100 * pitch / width) + "%";
    questioned.style.clipPath = "inset(0 " + (100 * (width - end) / width) + "% 0 " +
      (100 * start / width) + "%)";
  }
  function place() {
    stage.style.transform = "translate(" + x + "px, " + y + "px) scale(" + scale + ")";
  }
  function zoom(factor) {
    var next = Math.min(16, Math.max(1, scale * factor));
    var cx = view.clientWidth / 2, cy = view.clientHeight / 2;
    x = cx - (cx - x) * next / scale;
    y = cy - (cy - y) * next / scale;
    scale = next;
    place();
  }
  function reset() { scale = 1; x = 0; y = 0; place(); }
  divide.addEventListener("input", clip);
  questioned.addEventListener("load", clip);
  clip();
  controls.querySelectorAll("button[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var what = button.getAttribute("data-zoom");
      if (what === "in") { zoom(1.25); } else if (what === "out") { zoom(0.8); } else { reset(); }
    });
  });
  view.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var step = 40;
    var moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (event.key === "+" || event.key === "=") { zoom(1.25); }
    else if (event.key === "-") { zoom(0.8); }
    else if (event.key === "0") { reset(); }
    else if (moves[event.key]) { x += moves[event.key][0]; y += moves[event.key][1]; place(); }
    else { return; }
    event.preventDefault();
  });
  var drag = null;
  view.addEventListener("pointerdown", function (event) {
    drag = { x: event.clientX - x, y: event.clientY - y };
    view.setPointerCapture(event.pointerId);
    view.focus();
    event.preventDefault();
  });
  view.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    x = event.clientX - drag.x;
    y = event.clientY - drag.y;
    place();
  });
  function release() { drag = null; }
  view.addEventListener("pointerup", release);
  view.addEventListener("pointercancel", release);
});
