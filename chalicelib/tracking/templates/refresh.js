// The tracking page's own script (allowed by its hash): every few seconds it asks the page's
// JSON twin for the status and rewrites the headline, the ETA and the stops before in place.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch || !window.Intl) return;
  var source = live.getAttribute("data-source");
  var zone = live.getAttribute("data-zone") || "UTC";
  var every = Math.max(Number(live.getAttribute("data-every")) || 10, 5) * 1000;
  var dayFormat = new Intl.DateTimeFormat("en-GB", {
    weekday: "short", day: "numeric", month: "short", timeZone: zone
  });
  var timeFormat = new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone
  });

  function put(id, text) {
    var element = document.getElementById(id);
    if (element && typeof text === "string" && element.textContent !== text) {
      element.textContent = text;
    }
  }

  function show(view) {
    var status = document.getElementById("status");
    if (status && view.status) status.className = "status status-" + view.status;
    put("status", view.headline);
    if (view.eta_window) {
      var start = new Date(view.eta_window.start), end = new Date(view.eta_window.end);
      put("eta-text", dayFormat.format(start).replace(",", "") + ", between " +
        timeFormat.format(start) + " and " + timeFormat.format(end));
    }
    if (typeof view.stops_before === "number") {
      var n = view.stops_before;
      put("stops-text", n + (n === 1 ? " stop" : " stops") + " before yours" +
        (n === 0 ? ": you are next" : ""));
    }
    live.setAttribute("data-status", view.status || "");
  }

  function refresh() {
    fetch(source, { headers: { Accept: "application/json" }, cache: "no-store",
                    credentials: "omit" })
      .then(function (reply) { return reply.ok ? reply.json() : null; })
      .then(function (view) { if (view) show(view); })
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }

  window.setInterval(function () { if (!document.hidden) refresh(); }, every);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refresh();
  });
})();
