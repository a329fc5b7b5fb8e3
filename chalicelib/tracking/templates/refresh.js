// The tracking page's own script (allowed by its hash). Every few seconds it asks the page's
// JSON twin for the parcel's version; when that moved, something the page shows changed, so it
// fetches this page again and swaps in its server-rendered regions (our own HTML, parsed with
// DOMParser and imported node by node: no string ever goes into innerHTML), then moves the map.
// It stops once the page shows a final status, waits while the tab is hidden, and backs off
// while the twin cannot be reached.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch || !window.DOMParser) return;
  var source = live.getAttribute("data-source");
  var every = Math.max(Number(live.getAttribute("data-every")) || 10, 5) * 1000;
  var MAX_WAIT = 5 * 60 * 1000;
  var version = live.getAttribute("data-version");
  var finished = live.hasAttribute("data-final");
  var wait = every, timer = null;
  var asked = { cache: "no-store", credentials: "omit", redirect: "error" };

  function typing(region) {
    // A region whose form has the focus is left alone until the customer is done with it.
    var focused = document.activeElement;
    return focused && focused !== document.body && region.contains(focused) &&
      focused.closest("form") !== null;
  }

  function swap(fresh) {
    var regions = fresh.querySelectorAll("[data-region]");
    var pairs = [];
    for (var i = 0; i < regions.length; i++) {
      var current = document.getElementById(regions[i].id);
      if (!current) return false;  // a page of another shape: wait for the next version
      if (typing(current)) return false;
      pairs.push([current, regions[i]]);
    }
    pairs.forEach(function (pair) { pair[0].replaceWith(document.importNode(pair[1], true)); });
    var where = document.getElementById("where"), shown = fresh.getElementById("where");
    if (where && shown) where.hidden = shown.hidden;
    document.title = fresh.title;
    return true;
  }

  function reload() {
    // This page again, as the server renders it now.
    return fetch(window.location.pathname, asked)
      .then(function (reply) { return reply.ok ? reply.text() : Promise.reject(reply); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var freshLive = fresh.getElementById("live");
        if (!freshLive || !swap(fresh)) return;
        version = freshLive.getAttribute("data-version");
        finished = freshLive.hasAttribute("data-final");
        drawMap();
      });
  }

  function later(ms) {
    window.clearTimeout(timer);
    timer = finished ? null : window.setTimeout(tick, ms);
  }

  function tick() {
    timer = null;
    if (finished || document.hidden) return;  // a visible tab asks again (below)
    fetch(source, { headers: { Accept: "application/json" }, cache: "no-store",
                    credentials: "omit" })
      .then(function (reply) { return reply.ok ? reply.json() : Promise.reject(reply); })
      .then(function (view) { return view.version === version ? null : reload(); })
      .then(function () { wait = every; later(wait); })
      .catch(function (failed) {
        // Offline for a moment, or told to slow down: ask less often, up to every 5 minutes.
        var after = failed && failed.headers ? Number(failed.headers.get("Retry-After")) : 0;
        wait = Math.min(wait * 2, MAX_WAIT);
        later(Math.max(wait, (after || 0) * 1000));
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer === null) tick();
  });

  // -- the map, where the stage has tiles (MapLibre, served by this site, loaded once there is
  // something to draw): the area or the locker, the stops before, the van and the depot, from
  // the sketch region's GeoJSON; the sketch stays until the map has drawn, and for good if it
  // cannot (no WebGL, tiles unreachable).
  var box = document.getElementById("map");
  var map = null, drawn = false, loading = false, broken = false;
  var kind = function (name) { return ["==", ["get", "kind"], name]; };

  function features() {
    var region = document.getElementById("where-sketch");
    var text = region && region.getAttribute("data-features");
    return text ? { region: region, shown: JSON.parse(text) } : null;
  }

  function fit(shown, always) {
    var bounds = new maplibregl.LngLatBounds();
    shown.features.forEach(function (f) {
      var points = f.geometry.type === "Point" ? [f.geometry.coordinates]
                                               : f.geometry.coordinates[0];
      points.forEach(function (p) { bounds.extend(p); });
    });
    if (bounds.isEmpty()) return;
    var seen = map.getBounds();
    var inside = seen.contains(bounds.getSouthWest()) && seen.contains(bounds.getNorthEast());
    if (always || !inside) map.fitBounds(bounds, { padding: 40, maxZoom: 15, duration: 0 });
  }

  function layers(shown) {
    var colour = getComputedStyle(document.documentElement).getPropertyValue("--brand").trim() ||
      "#2563eb";
    map.addSource("where", { type: "geojson", data: shown });
    map.addLayer({ id: "area", type: "fill", source: "where", filter: kind("area"),
      paint: { "fill-color": colour, "fill-opacity": 0.18 } });
    map.addLayer({ id: "area-edge", type: "line", source: "where", filter: kind("area"),
      paint: { "line-color": colour, "line-width": 2 } });
    [["locker", "#1f7a3d", 8, "#fff", 3], ["stop", "#fff", 4, "#5f6b7a", 2],
     ["depot", "#1d2430", 6, "#fff", 3], ["van", colour, 9, "#fff", 3]].forEach(function (l) {
      map.addLayer({ id: l[0], type: "circle", source: "where", filter: kind(l[0]),
        paint: { "circle-color": l[1], "circle-radius": l[2], "circle-stroke-color": l[3],
                 "circle-stroke-width": l[4] } });
    });
  }

  function show(on) {
    var where = document.getElementById("where");
    box.hidden = !on;
    if (where) where.classList.toggle("drawn", on);
    if (on) map.resize();
  }

  function drawMap() {
    if (!box || broken) return;
    var found = features();
    if (!found) {  // nothing to draw now (delivered, back to ready): the card says so
      if (drawn) show(false);
      return;
    }
    box.setAttribute("aria-label", found.region.getAttribute("data-words") || "");
    if (drawn) {
      map.getSource("where").setData(found.shown);
      show(true);
      fit(found.shown, false);
      return;
    }
    if (map) return;  // still loading: it draws what is there once loaded
    if (!window.maplibregl) {
      if (loading) return;
      loading = true;
      var script = document.createElement("script");
      script.src = box.getAttribute("data-script");
      script.onload = drawMap;
      document.head.appendChild(script);
      return;
    }
    try {
      maplibregl.setWorkerUrl(box.getAttribute("data-worker"));
      box.hidden = false;
      map = new maplibregl.Map({
        container: box, style: box.getAttribute("data-style"),
        center: JSON.parse(found.region.getAttribute("data-centre")), zoom: 13,
        attributionControl: { compact: true }
      });
      map.on("load", function () {
        if (broken) { map.remove(); map = null; return; }  // failed before it drew: the sketch
        var now = features();
        layers(now ? now.shown : { type: "FeatureCollection", features: [] });
        drawn = true;
        if (now) { show(true); fit(now.shown, true); } else { show(false); }
      });
      map.on("error", function () {
        if (!drawn) { broken = true; box.hidden = true; }  // not drawn: the sketch it is
      });
    } catch (e) {
      broken = true;
      box.hidden = true;  // no WebGL here: the sketch it is
    }
  }

  drawMap();
  later(every);
})();
