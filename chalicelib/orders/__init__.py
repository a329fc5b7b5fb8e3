"""The orders service: the one path every storefront's order takes into the store."""
