"""Parcel labels: what each label carries, gathered from orders and routes, printed as PDF."""
