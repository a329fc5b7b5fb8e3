"""Catch-up: a scheduled pull of each merchant's recently changed orders through the same intake
path as webhooks, for the deliveries a storefront never sent or gave up retrying."""
