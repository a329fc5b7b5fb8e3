"""Allocation of orders to fulfilment locations (depots and micro-fulfilment centres): service
areas, cut-offs, daily capacity and stock, and the choice of depot (or split) for each order."""
