"""What every audience's part of the OpenAPI document is built with: operations, responses,
query parameters and forms, request schemas from pydantic models, and the shared components."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from chalicelib.api.paging import DEFAULT_LIMIT, MAX_LIMIT
from chalicelib.list_cursors import MAX_CURSOR_CHARS

REF = "#/components/schemas/"
ERROR = {"$ref": REF + "Error"}

RETRY_AFTER = {
    "description": "seconds until a try may succeed",
    "schema": {"type": "integer", "minimum": 0},
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def op(
    summary: str,
    security: str | tuple[str, ...] | None,
    responses: dict[str, str],
    body: str | None = None,
    tags: tuple[str, ...] = (),
    replies: dict[str, str] | None = None,
    query: list[dict[str, Any]] | None = None,
    example: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One operation. `security`: the scheme, or schemes any one of which will do; `replies`:
    the schema of a success's body by status; `query`: its query parameters; `example`: a
    body it takes (the fuzzer sends it too)."""
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": list(tags),
        "responses": {code: _response(code, text, replies) for code, text in responses.items()},
    }
    schemes = (security,) if isinstance(security, str) else security or ()
    operation["security"] = [{scheme: []} for scheme in schemes]
    if body:
        operation["requestBody"] = {"required": True, **_json({"$ref": REF + body})}
        if example is not None:
            operation["requestBody"]["content"]["application/json"]["example"] = example
    if query:
        operation["parameters"] = query
    return operation


def pdf_reply(operation: dict[str, Any]) -> dict[str, Any]:
    """`operation` answering a PDF (binary; any Accept but JSON's alone) on its 200."""
    operation["responses"]["200"]["content"] = {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}
    }
    return operation


def _response(code: str, text: str, replies: dict[str, str] | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": text}
    if code[0] in "45":
        response |= _json(ERROR)
    elif replies and code in replies:
        response |= _json({"$ref": REF + replies[code]})
    if code in ("429", "503"):
        # Every 429 and 503 says when to come back (api/http.py error_response).
        response["headers"] = {"Retry-After": RETRY_AFTER}
    return response


# The refusals every operation of a kind may answer (api/http.py), whatever its own part says.
BODY_REFUSALS = {
    "400": "body missing, not UTF-8 JSON, or nested too deep",
    "422": "a field invalid or past what can be stored (named in `field`)",
}
PATH_ID_REFUSAL = {"404": "no such object (also any id over 256 bytes)"}
AUTH_REFUSAL = {"401": "missing or wrong credentials"}
# What every paged list may answer besides its page (api/paging.py).
LIST_REFUSALS = {
    "400": "invalid_cursor: not a next_cursor of this list, owner and filters",
    "422": "limit out of 1-200, or a filter invalid (named in `field`)",
}
# What a label PDF's route answers when its renderer function cannot draw it now (nothing done).
LABEL_PRINTER_REFUSALS = {
    "502": "upstream_failed: the label renderer failed; ask again",
    "503": "service_busy: the label renderer is over its rate; ask again after Retry-After",
}


def add_common_refusals(operation: dict[str, Any], *, has_path_ids: bool) -> None:
    """The statuses api/http.py answers before or around any view, added where missing: a JSON
    body's 400 and 422, a path id's 404, a credential's 401."""
    responses = operation["responses"]
    html = any("text/html" in r.get("content", {}) for r in responses.values())
    content = {"text/html": {}} if html else {"application/json": {"schema": ERROR}}
    refusals: dict[str, str] = {}
    if "application/json" in operation.get("requestBody", {}).get("content", {}):
        refusals |= BODY_REFUSALS
    if has_path_ids:
        refusals |= PATH_ID_REFUSAL
    if operation.get("security"):
        refusals |= AUTH_REFUSAL
    for code, text in refusals.items():
        responses.setdefault(code, {"description": text, "content": content})


def query(name: str, description: str, *, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def form_op(
    summary: str,
    fields: dict[str, Any],
    required: list[str],
    responses: dict[str, str],
) -> dict[str, Any]:
    """A public HTML form's POST: form-encoded fields in (a button's form may have none), an
    HTML page (or a 303) out."""
    operation = op(summary, None, {}, tags=("customers",))
    operation["responses"] = {
        code: {"description": text, **({"content": {"text/html": {}}} if code[0] in "45" else {})}
        for code, text in responses.items()
    }
    if "429" in operation["responses"]:
        operation["responses"]["429"]["headers"] = {"Retry-After": RETRY_AFTER}
    schema = {"type": "object", "required": required, "properties": fields}
    operation["requestBody"] = {
        "required": bool(required),
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }
    return operation


def add_model(
    schemas: dict[str, Any],
    model: type[BaseModel],
    prefix: str = "",
    mode: Literal["validation", "serialization"] = "validation",
) -> None:
    """A request model and the models it nests (named `prefix` + their name); a nested name
    already taken by a different schema is an error, never a silent overwrite."""
    schema = model.model_json_schema(ref_template=REF + prefix + "{model}", mode=mode)
    for name, nested in schema.pop("$defs", {}).items():
        if schemas.setdefault(prefix + name, nested) != nested:
            raise ValueError(f"two schemas named {prefix + name}: give {model.__name__} a prefix")
    schemas[model.__name__] = schema


def add_reply(schemas: dict[str, Any], *models: type[BaseModel]) -> None:
    """Reply models (api/replies.py) as the schemas of the answers they shape, under their
    names: an operation's `replies={"200": "DepotOut"}` then refers to one. Add an answer's
    model here and name it in `replies`; the fuzzer holds every answer to it."""
    for model in models:
        add_model(schemas, model, mode="serialization")


def page_query(*filters: dict[str, Any]) -> list[dict[str, Any]]:
    """A list's query parameters: its filters, then `limit` and `cursor` (api/paging.py)."""
    return [
        *filters,
        query("limit", f"items per page, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})", type="integer")
        | {"schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
        query(
            "cursor",
            "the `next_cursor` of the page before, as it came (400 invalid_cursor otherwise)",
            maxLength=MAX_CURSOR_CHARS,
        ),
    ]


def object_schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
    }


# The body of every JSON error reply (api/http.py error_response).
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
        }
    },
}

_BEARER = {"type": "http", "scheme": "bearer"}

SECURITY_SCHEMES = {
    "operator": _BEARER | {"description": "the operator (admin) key"},
    "merchant": _BEARER | {"description": "the merchant's API key"},
    "driver": _BEARER | {"description": "the route's driver token"},
    "kiosk": _BEARER | {"description": "the locker's kiosk key (shown once)"},
    "shopifyHmac": {"type": "apiKey", "in": "header", "name": "X-Shopify-Hmac-Sha256"},
    "wooSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-WC-Webhook-Signature",
    },
    "standardWebhooks": {"type": "apiKey", "in": "header", "name": "webhook-signature"},
    "stripeSignature": {"type": "apiKey", "in": "header", "name": "Stripe-Signature"},
    "uberSignature": {"type": "apiKey", "in": "header", "name": "x-uber-signature"},
    "doordashAuthorization": {"type": "apiKey", "in": "header", "name": "Authorization"},
}
