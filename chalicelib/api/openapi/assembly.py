"""The whole OpenAPI document, put together from each audience's part, and the route that
serves it at GET /openapi.json."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from chalice import Blueprint

from chalicelib.api.http import json_response, route
from chalicelib.api.openapi import (
    admin,
    analytics,
    carrier_webhooks,
    dashboard,
    driver,
    local,
    lockers,
    merchant,
    ops,
    payments,
    stock,
    storefront_webhooks,
    tracking,
)
from chalicelib.api.openapi.components import (
    ERROR_SCHEMA,
    SECURITY_SCHEMES,
    add_common_refusals,
    add_reply,
    op,
)
from chalicelib.api.replies import OpenApiDocumentOut
from chalicelib.config import settings

openapi = Blueprint(__name__)

# One per blueprint that app.py registers; the merchant's first, for its canonical order.
AUDIENCES = (
    merchant,
    admin,
    stock,
    analytics,
    dashboard,
    ops,
    driver,
    lockers,
    tracking,
    storefront_webhooks,
    payments,
    carrier_webhooks,
)


def paths() -> dict[str, dict[str, Any]]:
    """Every route's path item, with the parameters its path names."""
    items: dict[str, dict[str, Any]] = {
        "/openapi.json": {
            "get": op(
                "This document", None, {"200": "OpenAPI 3.1"}, replies={"200": "OpenApiDocumentOut"}
            )
        }
    }
    for audience in AUDIENCES:
        items |= audience.paths()
    if settings().is_local:
        items |= local.paths()
    for path, item in items.items():
        names = re.findall(r"{(\w+)}", path)
        if names:
            item["parameters"] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                for n in names
            ]
        for operation in item.values():
            if isinstance(operation, dict):
                add_common_refusals(operation, has_path_ids=bool(names))
    return items


@cache
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for audience in AUDIENCES:
        audience.add_schemas(schemas)
    add_reply(schemas, OpenApiDocumentOut)
    if settings().is_local:
        local.add_schemas(schemas)
    schemas["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lastmile",
            "version": "1",
            "description": "Last-mile delivery backend: intake, tracking, dispatch, lockers.",
        },
        "servers": [{"url": settings().public_base_url}],
        "paths": paths(),
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


@route(openapi, "/openapi.json", methods=["GET"])
def openapi_json() -> Any:
    return json_response(OpenApiDocumentOut.of(document()).body())
