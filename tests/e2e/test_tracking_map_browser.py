"""The tracking page's map in Chromium, drawn for real: a local runtime of its own told of a map
key in Secrets Manager and of an Amazon Location Maps endpoint (`AWS_ENDPOINT_URL_GEO_MAPS`, as
the SDKs read it), where this test serves a stand-in that speaks the part of the Maps API the
page uses (GetStyleDescriptor, GetTile) for that key only, and records what it was asked. MapLibre
draws the van, the area and the stops before over the stand-in's tiles; the requests carry the
site's origin as Referer and nothing more; axe finds nothing serious; screenshots of the map at
390 and 1280 px go to tests/artifacts/."""

from __future__ import annotations

import json
import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import Runtime, started_runtime
from tests.e2e.test_driver_events import dispatched, post
from tests.e2e.test_tracking_browser import (
    ARTIFACTS,
    WIDTHS,
    Watched,
    assert_nothing_private,
    axe_violations,
    browser,  # noqa: F401  (the module's Chromium)
)
from tests.e2e.test_tracking_page import a_private_order

MAP_KEY = "v1.public.e2e-map-key"
MAP_SECRET = "lastmile/platform/maps-api-key"
# Injected before the page's scripts (CSP does not govern it): every map MapLibre makes is kept
# where the test can ask it what it drew. The page itself exposes nothing.
KEEP_MAPS = """
window.__maps = [];
(function () {
  var kept;
  Object.defineProperty(window, "maplibregl", {
    configurable: true,
    get: function () { return kept; },
    set: function (library) {
      var Drawn = function (options) {
        var made = new library.Map(options);
        window.__maps.push(made);
        return made;
      };
      kept = new Proxy(library, {
        get: function (target, name) { return name === "Map" ? Drawn : target[name]; }
      });
    }
  });
})();
"""


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A one-colour PNG, built by hand (a tile needs no more)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows)),
            chunk(b"IEND", b""),
        )
    )


class MapsStandIn:
    """Amazon Location's Maps API (v2), the part the page uses: the style descriptor, whose
    sources carry the key on to the tiles, and raster tiles; any other key is 403. Each request
    is recorded with its Referer."""

    TILE = solid_png(256, 256, (226, 232, 228))

    def __init__(self, key: str) -> None:
        self.key = key
        self.asked: list[dict[str, str]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                stand_in.asked.append(
                    {"path": parts.path, "referer": self.headers.get("Referer") or ""}
                )
                if parse_qs(parts.query).get("key") != [stand_in.key]:
                    self._answer(403, "application/json", b'{"message": "Forbidden"}')
                elif parts.path == "/v2/styles/Standard/descriptor":
                    self._answer(200, "application/json", json.dumps(stand_in.style()).encode())
                elif parts.path.startswith("/v2/tiles/raster.satellite/"):
                    self._answer(200, "image/png", stand_in.TILE)
                else:
                    self._answer(404, "application/json", b'{"message": "Not found"}')

            def _answer(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")  # as the service does
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def style(self) -> dict[str, Any]:
        tiles = f"{self.url}/v2/tiles/raster.satellite/{{z}}/{{x}}/{{y}}?key={self.key}"
        return {
            "version": 8,
            "name": "Stand-in",
            "sources": {
                "base": {
                    "type": "raster",
                    "tiles": [tiles],
                    "tileSize": 256,
                    "attribution": "Stand-in tiles",
                }
            },
            "layers": [
                {"id": "ground", "type": "background", "paint": {"background-color": "#eef2f6"}},
                {"id": "base", "type": "raster", "source": "base"},
            ],
        }

    def start(self) -> MapsStandIn:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def maps() -> Iterator[MapsStandIn]:
    stand_in = MapsStandIn(MAP_KEY).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="module")
def mapped(maps: MapsStandIn) -> Iterator[Runtime]:
    """A runtime of its own whose stage has a map key, in Secrets Manager as deployed, and the
    Maps API at the stand-in."""
    env = {"LASTMILE_MAPS_API_KEY_SECRET_NAME": MAP_SECRET, "AWS_ENDPOINT_URL_GEO_MAPS": maps.url}
    with started_runtime(**env) as runtime:
        boto3.client(
            "secretsmanager",
            endpoint_url=runtime.info["aws_endpoint"],
            region_name=runtime.info["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_secret(Name=MAP_SECRET, SecretString=MAP_KEY)
        yield runtime


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(KEEP_MAPS)
    yield Watched(page)
    context.close()


def drawn(page: Page, layer: str) -> list[Any]:
    """The features MapLibre rendered in `layer` of the page's map, their geometry as drawn,
    each once (a feature across tiles is rendered in each of them)."""
    found = page.evaluate(
        "(layer) => window.__maps[0].queryRenderedFeatures({layers: [layer]})"
        ".map(f => JSON.stringify(f.geometry.coordinates))",
        layer,
    )
    return [json.loads(geometry) for geometry in sorted(set(found))]


def wait_until_drawn(page: Page) -> None:
    page.wait_for_function(
        "() => document.getElementById('where').classList.contains('drawn')"
        " && window.__maps.length === 1 && window.__maps[0].loaded()"
        " && window.__maps[0].areTilesLoaded()",
        timeout=20_000,
    )


def test_with_tiles_maplibre_draws_the_van_the_area_and_the_stops_before(
    mapped: Runtime, maps: MapsStandIn, watched: Watched
) -> None:
    found = dispatched(mapped, vehicles=1, orders=3, make_order=a_private_order)
    [route] = found["run"]["routes"]
    brand = {"display_name": "Quokka Parcels", "colour": "#0b6e4f"}
    assert mapped.merchant(found["api_key"], "PUT", "/v1/brand", json=brand).status_code == 200
    last = route["stops"][-1]["order_id"]
    code = mapped.merchant(found["api_key"], "GET", f"/v1/orders/{last}").json()["tracking_code"]
    assert post(mapped, route, type="departed", event_id="m-dep").status_code == 202
    assert post(mapped, route, type="location", event_id="m-ping", lat=51.5031, lng=-0.1172).ok
    url = mapped.url(f"/track/{code}")

    page = watched.page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(url)
        assert response is not None and response.status == 200
        wait_until_drawn(page)
        assert page.locator("#map canvas").is_visible()
        assert page.locator("#sketch").is_hidden(), "the map drew: the sketch steps aside"
        assert axe_violations(page) == [], label
        assert page.evaluate("document.documentElement.scrollWidth") <= width, label
        page.screenshot(path=str(ARTIFACTS / f"tracking-map-{width}.png"), full_page=True)

    for layer in ("area", "area-edge", "stop", "van", "depot"):
        assert page.evaluate("(id) => window.__maps[0].getLayer(id) !== undefined", layer), layer
    assert len(drawn(page, "area")) >= 1, "the area (in each tile it spans)"
    assert len(drawn(page, "stop")) == 2, "the two stops before yours"
    [van] = drawn(page, "van")
    assert van == pytest.approx([-0.117, 51.503], abs=1e-5), "the fix, rounded (tile precision)"
    assert page.locator("#stops-text").inner_text() == "2 stops before yours"
    assert_nothing_private(page.content())

    # What the Maps API was asked, and told of where from: the site's origin, never the path.
    paths = [asked["path"] for asked in maps.asked]
    assert "/v2/styles/Standard/descriptor" in paths
    assert any(p.startswith("/v2/tiles/raster.satellite/") for p in paths), "tiles fetched"
    assert {asked["referer"] for asked in maps.asked} == {mapped.base_url + "/"}
    assert all(code not in str(asked) for asked in maps.asked)

    # The van moves on the map with no reload; a stop served leaves one dot.
    page.evaluate("window.__not_reloaded = true")
    assert post(mapped, route, type="location", event_id="m-ping-2", lat=51.51, lng=-0.11).ok
    first = route["stops"][0]["order_id"]
    delivered = post(mapped, route, type="delivered", event_id="m-dlv", order_id=first)
    assert delivered.status_code == 202, delivered.text
    page.wait_for_function(
        "() => { const v = window.__maps[0].queryRenderedFeatures({layers: ['van']});"
        " return v.length > 0 && v.every(f => f.geometry.coordinates[1] > 51.509); }",
        timeout=25_000,
    )
    page.wait_for_function(
        "() => new Set(window.__maps[0].queryRenderedFeatures({layers: ['stop']})"
        ".map(f => JSON.stringify(f.geometry.coordinates))).size === 1",
        timeout=10_000,
    )
    assert page.locator("#stops-text").inner_text() == "1 stop before yours"
    assert page.evaluate("window.__maps.length") == 1, "one map through every refresh"
    assert page.evaluate("window.__not_reloaded") is True
    # Chromium's software GL reports its own slow paths (the screenshots read the canvas back)
    # as console warnings; they are the machine's, not the page's.
    assert [e for e in watched.errors if "GL Driver Message" not in e] == []
    assert watched.violations() == []
