"""Reporting deliveries back to the storefront: a Shopify order's fulfilment, with our tracking
number and page, once the parcel is out for delivery."""
