"""What customers see of their parcel: timeline, ETA, and the public view without PII."""
