"""Tenancy: operators create merchants and depots; merchants and operators authenticate."""
