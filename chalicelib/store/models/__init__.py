"""The PynamoDB models: one per item type, the only way items are read and written.

Importing the package registers every model with its table, so the table declarations (CDK,
the local runtime) see every key, index and TTL the models declare."""

from chalicelib.store.models import (  # noqa: F401
    analytics,
    billing,
    delivery_options,
    dispatch,
    fulfilment,
    lockers,
    merchant_webhooks,
    notify,
    orders,
    reconcile,
    stock,
    tenancy,
    tracking,
)
