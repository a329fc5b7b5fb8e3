"""A local stand-in for Amazon Location's `geo-places` Geocode (moto has none): answers from a
table of known addresses and records every query it was sent."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class GeoPlacesFake:
    def __init__(self, places: dict[str, tuple[float, float, float]] | None = None) -> None:
        """`places`: a lower-case fragment of the query -> (lat, lng, match score)."""
        self.places = dict(places or {})
        self.queries: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.queries.append({"path": self.path, **body})
                if fake.fail_with:
                    self._reply(fake.fail_with, {"message": "unavailable"})
                    return
                self._reply(200, {"ResultItems": fake.lookup(body.get("QueryText", ""))})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    def lookup(self, query: str) -> list[dict[str, Any]]:
        for fragment, (lat, lng, score) in self.places.items():
            if fragment in query.lower():
                return [
                    {
                        "PlaceId": f"fake-{fragment}",
                        "PlaceType": "PointAddress",
                        "Title": query,
                        "Position": [lng, lat],
                        "MatchScores": {"Overall": score},
                    }
                ]
        return []

    def start(self) -> GeoPlacesFake:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
