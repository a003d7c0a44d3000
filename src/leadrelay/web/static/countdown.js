// Keeps SLA deadlines ticking between page loads ("accept within 12m" counts down, then
// "overdue by"). The server renders the same words; this only refreshes them.
(function () {
  "use strict";
  function words(seconds) {
    var s = Math.floor(Math.abs(seconds)), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60);
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + (s % 60) + "s";
    return (s % 60) + "s";
  }
  function tick() {
    document.querySelectorAll("time.sla[datetime]").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000;
      var step = el.getAttribute("data-step") || "deadline";
      el.textContent = left < 0 ? step + " overdue by " + words(left) : step + " within " + words(left);
      el.classList.toggle("late", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 3600);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 10000);
})();
