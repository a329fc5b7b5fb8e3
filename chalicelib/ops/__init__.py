"""`lastmile ops ...`: operator commands that speak to a running API with the operator key."""
