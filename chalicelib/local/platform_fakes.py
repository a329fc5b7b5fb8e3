"""Local stand-ins for the Shopify Admin REST API and the WooCommerce REST API (orders list only):
they hold the orders a test puts in, filter and page them as the platforms do, check the
credentials the real clients send, record every request, and fail on demand."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

Reply = tuple[int, Any, dict[str, str]]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]  # a repeated parameter keeps its last value, as PHP's $_GET does
    headers: dict[str, str]  # lower-case names


class _FakeServer:
    """An HTTP server on 127.0.0.1 (random port, a thread per request) answering GETs."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.fail_with: int | None = None
        self.fail_after = 0  # requests answered normally before `fail_with` applies
        # Called once each answer is made, with the number of requests so far (to change data
        # between two pages, as a shop does while we read).
        self.after_request: Callable[[int], None] | None = None
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method="GET",
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
                status: int
                headers: dict[str, str]
                with fake._lock:
                    fake.requests.append(recorded)
                    count = len(fake.requests)
                    if fake.fail_with and count > fake.fail_after:
                        status, body, headers = fake.fail_with, {"errors": "unavailable"}, {}
                    else:
                        status, body, headers = fake.answer(recorded)
                if fake.after_request:
                    # Before replying: the change is in place before the client can ask again.
                    fake.after_request(count)
                self._reply(status, body, headers)

            def _reply(self, status: int, payload: Any, headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, request: Recorded) -> Reply:
        raise NotImplementedError

    def fail(self, status: int | None, *, after: int = 0) -> None:
        """Answer `status` to every request after the next `after` ones (None: heal)."""
        with self._lock:
            self.fail_with = status
            self.fail_after = len(self.requests) + after

    def start(self) -> _FakeServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ShopifyAdminFake(_FakeServer):
    """GET /admin/api/<version>/orders.json with the filters catch-up uses and cursor pagination
    (page_info in a Link header; no other filter allowed beside it, as Shopify insists).

    Fulfilment too: GET .../orders/<id>/fulfillment_orders.json and POST .../fulfillments.json
    (open fulfillment orders only, then closed; `fulfillments` keeps each body sent)."""

    PATH = re.compile(r"^/admin/api/(\d{4}-\d{2})/orders\.json$")
    SORTS = ("id", "updated_at", "created_at")

    FULFILLMENT_ORDERS = re.compile(
        r"^/admin/api/\d{4}-\d{2}/orders/(\d+)/fulfillment_orders\.json$"
    )
    FULFILLMENTS = re.compile(r"^/admin/api/\d{4}-\d{2}/fulfillments\.json$")

    def __init__(self, access_token: str) -> None:
        super().__init__()
        self.access_token = access_token
        self.orders: dict[str, dict[str, Any]] = {}
        # Fulfillment orders by order id (one open one per order put, unless set otherwise) and
        # every fulfillment created, as POST /fulfillments.json was sent it (its JSON body).
        self.fulfillment_orders: dict[str, list[dict[str, Any]]] = {}
        self.fulfillments: list[dict[str, Any]] = []
        self._enable_post()

    def put(self, *orders: dict[str, Any]) -> None:
        with self._lock:
            for order in orders:
                self.orders[str(order["id"])] = copy.deepcopy(order)
                self.fulfillment_orders.setdefault(
                    str(order["id"]),
                    [
                        {
                            "id": int(order["id"]) * 10 + 1,
                            "order_id": int(order["id"]),
                            "status": "open",
                            "supported_actions": ["create_fulfillment"],
                            "line_items": [
                                {"id": n + 1, "quantity": item.get("quantity", 1)}
                                for n, item in enumerate(order.get("line_items", []))
                            ],
                        }
                    ],
                )

    def _enable_post(self) -> None:
        """POST /fulfillments.json beside the GETs: a request handler with do_POST, recorded and
        failed on demand as the GETs are."""
        fake = self
        base = self._server.RequestHandlerClass

        class WithPost(base):  # type: ignore[valid-type,misc]
            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    method="POST",
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
                status: int
                headers: dict[str, str]
                with fake._lock:
                    fake.requests.append(recorded)
                    if fake.fail_with and len(fake.requests) > fake.fail_after:
                        status, body, headers = fake.fail_with, {"errors": "unavailable"}, {}
                    else:
                        status, body, headers = fake._post(recorded, raw)
                self._reply(status, body, headers)

        self._server.RequestHandlerClass = WithPost

    def _post(self, request: Recorded, raw: bytes) -> Reply:
        if not self.FULFILLMENTS.match(request.path):
            return 404, {"errors": "Not Found"}, {}
        if request.headers.get("x-shopify-access-token") != self.access_token:
            return 401, {"errors": "[API] Invalid API key or access token"}, {}
        try:
            sent = json.loads(raw)
            fulfillment = sent["fulfillment"]
            wanted = [
                int(x["fulfillment_order_id"])
                for x in fulfillment["line_items_by_fulfillment_order"]
            ]
        except (ValueError, KeyError, TypeError):
            return 400, {"errors": {"fulfillment": "Required parameter missing or invalid"}}, {}
        known = {fo["id"]: fo for fos in self.fulfillment_orders.values() for fo in fos}
        if not wanted or any(
            known.get(i, {}).get("status") not in ("open", "in_progress") for i in wanted
        ):
            msg = "Fulfillment order is not in an open or in progress state"
            return 422, {"errors": [msg]}, {}
        for i in wanted:
            known[i]["status"] = "closed"
        created = {
            "id": 9000 + len(self.fulfillments) + 1,
            "order_id": known[wanted[0]]["order_id"],
            "status": "success",
            "tracking_number": (fulfillment.get("tracking_info") or {}).get("number"),
        }
        self.fulfillments.append(copy.deepcopy(sent))
        return 201, {"fulfillment": created}, {}

    def answer(self, request: Recorded) -> Reply:
        listing = self.FULFILLMENT_ORDERS.match(request.path)
        if listing:
            if request.headers.get("x-shopify-access-token") != self.access_token:
                return 401, {"errors": "[API] Invalid API key or access token"}, {}
            if listing.group(1) not in self.orders:
                return 404, {"errors": "Not Found"}, {}
            fos = self.fulfillment_orders.get(listing.group(1), [])
            return 200, {"fulfillment_orders": copy.deepcopy(fos)}, {}
        match = self.PATH.match(request.path)
        if not match:
            return 404, {"errors": "Not Found"}, {}
        if request.headers.get("x-shopify-access-token") != self.access_token:
            msg = "[API] Invalid API key or access token (unrecognized login or wrong password)"
            return 401, {"errors": msg}, {}
        query = dict(request.query)
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            return 400, {"errors": {"limit": "expected Integer"}}, {}
        if not 1 <= limit <= 250:
            return 400, {"errors": {"limit": "must be between 1 and 250"}}, {}
        if "page_info" in query:
            extra = set(query) - {"page_info", "limit", "fields"}
            if extra:
                return 400, {"errors": {"page_info": f"cannot be used with {sorted(extra)}"}}, {}
            try:
                state = json.loads(base64.urlsafe_b64decode(query["page_info"]))
            except ValueError:
                return 400, {"errors": {"page_info": "Invalid value."}}, {}
            filters, last = state["filters"], state["last"]
        else:
            filters, last = {k: v for k, v in query.items() if k != "limit"}, None
        field, _, direction = filters.get("order", "id desc").partition(" ")
        if field not in self.SORTS or direction not in ("asc", "desc"):
            return 400, {"errors": {"order": "Invalid value."}}, {}
        rows = sorted(
            (o for o in self.orders.values() if self._matches(o, filters)),
            key=lambda o: self._sort_key(o, field),
            reverse=direction == "desc",
        )
        if last is not None:
            after = (last[0], int(last[1]))
            if direction == "asc":
                rows = [o for o in rows if self._sort_key(o, field) > after]
            else:
                rows = [o for o in rows if self._sort_key(o, field) < after]
        page, rest = rows[:limit], rows[limit:]
        headers = {}
        if rest:
            key = self._sort_key(page[-1], field)
            token = base64.urlsafe_b64encode(
                json.dumps({"filters": filters, "last": [key[0], key[1]]}).encode()
            ).decode()
            url = f"{self.endpoint}{request.path}?limit={limit}&page_info={token}"
            headers["Link"] = f'<{url}>; rel="next"'
        return 200, {"orders": copy.deepcopy(page)}, headers

    @staticmethod
    def _sort_key(order: dict[str, Any], field: str) -> tuple[Any, int]:
        if field == "id":
            return (0, int(order["id"]))
        return (_aware(order[field]).timestamp(), int(order["id"]))

    @staticmethod
    def _matches(order: dict[str, Any], filters: dict[str, str]) -> bool:
        status = filters.get("status", "open")  # Shopify's default: open orders only
        if status == "open" and (order.get("cancelled_at") or order.get("closed_at")):
            return False
        if status == "closed" and not order.get("closed_at"):
            return False
        if status == "cancelled" and not order.get("cancelled_at"):
            return False
        updated = _aware(order["updated_at"])
        if "updated_at_min" in filters and updated < _aware(filters["updated_at_min"]):
            return False
        return not ("updated_at_max" in filters and updated > _aware(filters["updated_at_max"]))


class WooCommerceFake(_FakeServer):
    """GET /wp-json/wc/v3/orders with modified_after (exclusive; read in the shop's time zone
    unless dates_are_gmt), status, orderby, order, per_page and page; X-WP-Total(Pages).

    Authentication as WooCommerce takes it: basic auth or consumer_key/consumer_secret in the
    query (meant for HTTPS), or OAuth 1.0a one-legged signatures (what its client does on HTTP)."""

    PATH = "/wp-json/wc/v3/orders"
    ORDERBY = ("date", "id", "include", "title", "slug", "modified")
    NOT_ANY = {"trash", "auto-draft", "checkout-draft"}

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        *,
        shop_utc_offset: timedelta = timedelta(hours=2),
    ) -> None:
        super().__init__()
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.shop_utc_offset = shop_utc_offset
        self.orders: dict[str, dict[str, Any]] = {}
        self.auth_used: list[str] = []
        self._nonces: set[str] = set()

    def put(self, *orders: dict[str, Any]) -> None:
        with self._lock:
            for order in orders:
                self.orders[str(order["id"])] = copy.deepcopy(order)

    def answer(self, request: Recorded) -> Reply:
        if request.path.rstrip("/") != self.PATH:
            return 404, _wc_error("rest_no_route", "No route was found.", 404), {}
        denied = self._authenticate(request)
        if denied:
            return 401, _wc_error("woocommerce_rest_authentication_error", denied, 401), {}
        q = request.query
        orderby, order = q.get("orderby", "date"), q.get("order", "desc")
        if orderby not in self.ORDERBY or order not in ("asc", "desc"):
            return 400, _wc_error("rest_invalid_param", "Invalid parameter(s): orderby", 400), {}
        try:
            per_page, page = int(q.get("per_page", "10")), int(q.get("page", "1"))
        except ValueError:
            return 400, _wc_error("rest_invalid_param", "Invalid parameter(s): page", 400), {}
        if not 1 <= per_page <= 100 or page < 1:
            return 400, _wc_error("rest_invalid_param", "Invalid parameter(s): per_page", 400), {}
        statuses = set(q.get("status", "any").split(","))
        after = None
        if q.get("modified_after"):
            after = datetime.fromisoformat(q["modified_after"]).replace(tzinfo=None)
            if q.get("dates_are_gmt") not in ("true", "1"):
                after -= self.shop_utc_offset
        rows = [
            o
            for o in self.orders.values()
            if (o["status"] in statuses or ("any" in statuses and o["status"] not in self.NOT_ANY))
            and (after is None or _gmt(o["date_modified_gmt"]) > after)
        ]
        field = {"modified": "date_modified_gmt", "date": "date_created_gmt"}.get(orderby)
        rows.sort(
            key=lambda o: (_gmt(o[field]) if field else datetime.min, int(o["id"])),
            reverse=order == "desc",
        )
        total = len(rows)
        pages = -(-total // per_page)
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        return 200, copy.deepcopy(rows[(page - 1) * per_page : page * per_page]), headers

    def _authenticate(self, request: Recorded) -> str | None:
        """Why the request is refused, or None."""
        q = request.query
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            key, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            self.auth_used.append("basic")
            return None if self._keys_match(key, secret) else "Consumer key is invalid."
        if "consumer_key" in q:
            self.auth_used.append("query")
            match = self._keys_match(q["consumer_key"], q.get("consumer_secret", ""))
            return None if match else "Consumer key is invalid."
        if "oauth_signature" in q:
            self.auth_used.append("oauth")
            return self._check_oauth(request)
        return "Sorry, you cannot list resources."

    def _keys_match(self, key: str, secret: str) -> bool:
        return hmac.compare_digest(key, self.consumer_key) and hmac.compare_digest(
            secret, self.consumer_secret
        )

    def _check_oauth(self, request: Recorded) -> str | None:
        params = dict(request.query)
        signature = params.pop("oauth_signature")
        if params.get("oauth_consumer_key") != self.consumer_key:
            return "Consumer key is invalid."
        method = params.get("oauth_signature_method")
        digest = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}.get(method or "")
        if digest is None:
            return "Invalid signature - signature method is invalid."
        if abs(datetime.now(UTC).timestamp() - int(params.get("oauth_timestamp", "0"))) > 900:
            return "Invalid timestamp."
        nonce = params.get("oauth_nonce", "")
        if nonce in self._nonces:
            return "Invalid nonce - nonce has already been used."
        # As WooCommerce builds the base string: RFC 3986 encoding, sorted keys, %-escaped twice.
        encoded = sorted((_rfc3986(k), _rfc3986(v)) for k, v in params.items())
        query = "%26".join(f"{k.replace('%', '%25')}%3D{v.replace('%', '%25')}" for k, v in encoded)
        base_uri = _rfc3986(f"http://{request.headers.get('host', '')}{request.path}")
        to_sign = f"GET&{base_uri}&{query}"
        expected = base64.b64encode(
            hmac.new(f"{self.consumer_secret}&".encode(), to_sign.encode(), digest).digest()
        ).decode()
        if not hmac.compare_digest(expected, signature):
            return "Invalid signature - provided signature does not match."
        self._nonces.add(nonce)
        return None


def _rfc3986(value: str) -> str:
    return quote(value, safe="-_.~")


def _gmt(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=None)


def _wc_error(code: str, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status}}
