"""The OpenAPI 3.1 description of the public API, served at GET /openapi.json: written by hand,
one module per audience (as the blueprints are), with request schemas taken from the pydantic
models that validate them; a test holds it and the Chalice routes to each other."""

from chalicelib.api.openapi.assembly import document, openapi

__all__ = ["document", "openapi"]
