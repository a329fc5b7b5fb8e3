"""`lastmile ops depots|merchants|runs|routes|orders`: what the operator created and what the
depots planned, read back over the HTTP API, as tables or JSON; lists follow `next_cursor`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from chalicelib.ops.client import OpsApi, OpsError, fields, listing, run, table

Request = Callable[[OpsApi, argparse.Namespace], Any]


def _path(template: str, *ids: str) -> str:
    return template.format(*(quote(i, safe="") for i in ids))


def _one_id(args: argparse.Namespace, what: str) -> str:
    if not args.id:
        raise OpsError(f"`{args.action}` needs the {what}'s id")
    return str(args.id)


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max", type=int, default=50, help="items at most (default 50)")
    parser.add_argument("--cursor", help="go on from a `next_cursor` printed before")


def _command(
    ops: Any,
    common: argparse.ArgumentParser,
    name: str,
    help_text: str,
    actions: dict[str, tuple[Request, Callable[[Any], str]]],
    *,
    as_merchant: bool = False,
) -> argparse.ArgumentParser:
    """`lastmile ops NAME [ACTION] [ID]`: the first action is the default."""
    parser = ops.add_parser(name, parents=[common], help=help_text, description=help_text)
    parser.add_argument("action", nargs="?", choices=list(actions), default=next(iter(actions)))
    parser.add_argument("id", nargs="?", help="the object's id (for show and cancel)")

    def request(api: OpsApi, args: argparse.Namespace) -> Any:
        most = getattr(args, "max", None)
        if most is not None and not 1 <= most <= 10_000:
            raise OpsError("--max: from 1 to 10000")
        return actions[args.action][0](api, args)

    def call(args: argparse.Namespace) -> int:
        return run(args, actions[args.action][1], as_merchant=as_merchant)

    parser.set_defaults(func=call, request=request)
    return parser


# -- depots --------------------------------------------------------------------------------


def _depots(api: OpsApi, args: argparse.Namespace) -> Any:
    return api.pages("/v1/depots", {}, args.max, args.cursor)


def _depot(api: OpsApi, args: argparse.Namespace) -> Any:
    depot_id = _one_id(args, "depot")
    depot = api.call("GET", _path("/v1/depots/{}", depot_id))
    fleet = api.call("GET", _path("/v1/depots/{}/vehicles", depot_id))
    return depot | {"vehicles": fleet["vehicles"]}


def _render_depot(depot: dict[str, Any]) -> str:
    head = {k: v for k, v in depot.items() if k != "vehicles"}
    vehicles = [
        {
            "vehicle_id": v["vehicle_id"],
            "profile": v["profile"],
            "parcels": v["capacity"]["parcels"],
            "weight_kg": v["capacity"]["weight_kg"],
            "shift_start": v["shift"]["start"],
            "shift_end": v["shift"]["end"],
        }
        for v in depot["vehicles"]
    ]
    columns = ["vehicle_id", "profile", "parcels", "weight_kg", "shift_start", "shift_end"]
    return fields(head) + "\n\n" + (table(vehicles, columns) if vehicles else "(no vehicles)")


# -- merchants -----------------------------------------------------------------------------


def _merchants(api: OpsApi, args: argparse.Namespace) -> Any:
    return api.pages("/v1/merchants", {}, args.max, args.cursor)


def _merchant(api: OpsApi, args: argparse.Namespace) -> Any:
    return api.call("GET", _path("/v1/merchants/{}", _one_id(args, "merchant")))


# -- runs and routes -----------------------------------------------------------------------


def _runs(api: OpsApi, args: argparse.Namespace) -> Any:
    if not args.depot:
        raise OpsError("`runs` lists a depot's runs: give --depot ID (or `runs show RUN_ID`)")
    return api.pages(_path("/v1/depots/{}/dispatch-runs", args.depot), {}, args.max, args.cursor)


def _run(api: OpsApi, args: argparse.Namespace) -> Any:
    return api.call("GET", _path("/v1/dispatch-runs/{}", _one_id(args, "run")))


def _render_runs(reply: dict[str, Any]) -> str:
    columns = ["run_id", "status", "trigger", "started_at", "finished_at", "error"]
    return listing(reply, columns)


def _render_run(run: dict[str, Any]) -> str:
    head = {k: v for k, v in run.items() if k not in ("routes", "unassigned", "figures")}
    routes = [
        {
            "route_id": r["route_id"],
            "vehicle_id": r["vehicle_id"],
            "stops": len(r["stops"]),
            "start_at": r.get("start_at"),
            "distance_m": r.get("distance_m"),
        }
        for r in run["routes"]
    ]
    text = fields(head) + "\n\n" + (table(routes, list(routes[0])) if routes else "(no routes)")
    if run["unassigned"]:
        text += "\n\nunassigned:\n" + table(run["unassigned"], ["order_id", "reason"])
    return text


def _routes(api: OpsApi, args: argparse.Namespace) -> Any:
    if not args.run:
        raise OpsError("`routes` lists a run's routes: give --run RUN_ID (or `routes show ID`)")
    return api.call("GET", _path("/v1/dispatch-runs/{}", args.run))


def _route(api: OpsApi, args: argparse.Namespace) -> Any:
    return api.call("GET", _path("/v1/routes/{}", _one_id(args, "route")))


def _render_routes(run: dict[str, Any]) -> str:
    return _render_run(run).partition("\n\n")[2]


def _render_route(route: dict[str, Any]) -> str:
    head = {k: v for k, v in route.items() if k != "stops"}
    stops = route.get("stops") or []
    columns = [
        c
        for c in ("order_id", "kind", "status", "state", "eta", "planned_eta", "locker_id")
        if any(c in s for s in stops)
    ]
    return fields(head) + "\n\n" + (table(stops, columns) if stops else "(no stops)")


# -- orders (a merchant's key) -------------------------------------------------------------


def _orders(api: OpsApi, args: argparse.Namespace) -> Any:
    filters = {
        "status": args.status,
        "external_id": args.external_id,
        "created_from": args.created_from,
        "created_to": args.created_to,
    }
    given = {k: v for k, v in filters.items() if v is not None}
    return api.pages("/v1/orders", given, args.max, args.cursor)


def _order(api: OpsApi, args: argparse.Namespace) -> Any:
    return api.call("GET", _path("/v1/orders/{}", _one_id(args, "order")))


def _cancel(api: OpsApi, args: argparse.Namespace) -> Any:
    return api.call("POST", _path("/v1/orders/{}/cancel", _one_id(args, "order")))


def _render_orders(reply: dict[str, Any]) -> str:
    columns = ["order_id", "external_id", "status", "depot_id", "created_at", "eta"]
    return listing(reply, columns)


def _render_order(order: dict[str, Any]) -> str:
    head = {
        k: v for k, v in order.items() if k not in ("timeline", "customer", "address", "parcels")
    }
    text = fields(head)
    if order.get("timeline"):
        text += "\n\n" + table(order["timeline"], ["at", "status", "type", "note"])
    return text


def register(ops: Any, common: argparse.ArgumentParser) -> None:
    def rows(columns: list[str]) -> Callable[[Any], str]:
        return lambda reply: listing(reply, columns)

    depots = _command(
        ops,
        common,
        "depots",
        "list the depots, or `show ID`: one with its fleet",
        {"list": (_depots, rows(["depot_id", "name", "timezone", "lat", "lng", "created_at"]))}
        | {"show": (_depot, _render_depot)},
    )
    _list_options(depots)
    merchants = _command(
        ops,
        common,
        "merchants",
        "list the merchants, or `show ID`: one's profile (never a key or secret)",
        {"list": (_merchants, rows(["merchant_id", "name", "depot_id", "created_at"]))}
        | {"show": (_merchant, fields)},
    )
    _list_options(merchants)
    runs = _command(
        ops,
        common,
        "runs",
        "list a depot's dispatch runs newest first (--depot ID), or `show RUN_ID`",
        {"list": (_runs, _render_runs), "show": (_run, _render_run)},
    )
    runs.add_argument("--depot", help="the depot whose runs to list")
    _list_options(runs)
    routes = _command(
        ops,
        common,
        "routes",
        "list a run's routes (--run RUN_ID), or `show ROUTE_ID`: its stops, status and ETAs",
        {"list": (_routes, _render_routes), "show": (_route, _render_route)},
    )
    routes.add_argument("--run", help="the dispatch run whose routes to list")
    orders = _command(
        ops,
        common,
        "orders",
        "a merchant's orders newest first (its API key as --key), `show ID` or `cancel ID`",
        {
            "list": (_orders, _render_orders),
            "show": (_order, _render_order),
            "cancel": (_cancel, _render_order),
        },
        as_merchant=True,
    )
    orders.add_argument("--status", help="only orders in this status (e.g. planned)")
    orders.add_argument("--external-id", help="the storefront's order id")
    orders.add_argument("--from", dest="created_from", help="created at or after (ISO 8601)")
    orders.add_argument("--to", dest="created_to", help="created before (ISO 8601)")
    _list_options(orders)
