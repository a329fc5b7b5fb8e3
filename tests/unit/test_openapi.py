"""The OpenAPI document and the Chalice routes describe the same API."""

from __future__ import annotations

import json

from app import app
from chalicelib.api.openapi import document


def chalice_routes() -> set[tuple[str, str]]:
    return {(path, method.lower()) for path, entries in app.routes.items() for method in entries}


def documented_routes() -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, ops in document()["paths"].items()
        for method in ops
        if method != "parameters"
    }


def test_every_route_is_documented_and_every_documented_path_is_a_route() -> None:
    assert chalice_routes() == documented_routes()


def test_document_is_openapi_31_with_resolvable_schema_refs() -> None:
    doc = document()
    assert doc["openapi"] == "3.1.0"
    text = json.dumps(doc)
    schemas = doc["components"]["schemas"]
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in schemas, ref
    assert set(schemas["CanonicalOrder"]["required"]) >= {"external_id", "customer", "address"}


def test_every_secured_operation_names_a_declared_scheme() -> None:
    doc = document()
    declared = set(doc["components"]["securitySchemes"])
    for ops in doc["paths"].values():
        for method, op in ops.items():
            if method == "parameters":
                continue
            for requirement in op["security"]:
                assert set(requirement) <= declared


def test_document_validates_against_the_openapi_31_specification() -> None:
    from openapi_spec_validator import validate

    validate(document())
