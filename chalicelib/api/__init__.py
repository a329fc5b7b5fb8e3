"""Chalice blueprints, one per audience: parse the request, call one service, shape the reply."""
