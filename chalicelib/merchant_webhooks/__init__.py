"""Merchant webhooks out: merchants register endpoints; every outbox message about their orders
is POSTed to each subscribed endpoint, signed with Standard Webhooks, retried with backoff."""
