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

// The map over the sketch, where the stage has tiles (MapLibre, served by this site): the area
// or the locker, the van and the depot from the page's own GeoJSON; the sketch stays until the
// map has drawn, and for good if it cannot (no WebGL, tiles unreachable).
(function () {
  "use strict";
  var box = document.getElementById("map");
  var sketch = document.getElementById("sketch");
  if (!box || !window.maplibregl) return;
  try {
    var colour = getComputedStyle(document.documentElement).getPropertyValue("--brand").trim() ||
      "#2563eb";
    maplibregl.setWorkerUrl(box.getAttribute("data-worker"));
    box.hidden = false;
    var map = new maplibregl.Map({
      container: box, style: box.getAttribute("data-style"),
      center: JSON.parse(box.getAttribute("data-centre")), zoom: 13,
      attributionControl: { compact: true }
    });
    map.on("load", function () {
      var shown = JSON.parse(box.getAttribute("data-features"));
      map.addSource("where", { type: "geojson", data: shown });
      var kind = function (name) { return ["==", ["get", "kind"], name]; };
      map.addLayer({ id: "area", type: "fill", source: "where", filter: kind("area"),
        paint: { "fill-color": colour, "fill-opacity": 0.18 } });
      map.addLayer({ id: "area-edge", type: "line", source: "where", filter: kind("area"),
        paint: { "line-color": colour, "line-width": 2 } });
      [["locker", "#1f7a3d", 8], ["depot", "#1d2430", 6], ["van", colour, 9]].forEach(function (l) {
        map.addLayer({ id: l[0], type: "circle", source: "where", filter: kind(l[0]),
          paint: { "circle-color": l[1], "circle-radius": l[2], "circle-stroke-color": "#fff",
                   "circle-stroke-width": 3 } });
      });
      var bounds = new maplibregl.LngLatBounds();
      shown.features.forEach(function (f) {
        var points = f.geometry.type === "Point" ? [f.geometry.coordinates]
                                                 : f.geometry.coordinates[0];
        points.forEach(function (p) { bounds.extend(p); });
      });
      if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 40, maxZoom: 15, duration: 0 });
      if (sketch) sketch.style.display = "none";
    });
    map.on("error", function () {
      if (!sketch || sketch.style.display !== "none") box.hidden = true;  // not drawn: the sketch
    });
  } catch (e) {
    box.hidden = true;  // no WebGL here: the sketch it is
  }
})();
