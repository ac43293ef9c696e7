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
