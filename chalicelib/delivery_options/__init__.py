"""Delivery options customers choose and pay for: windows the fleet can still serve, priced
from the merchant's price list, each holding its capacity until it expires or an order
redeems it."""
