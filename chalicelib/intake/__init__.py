"""One module per storefront platform: verify its signature, translate its payload."""
