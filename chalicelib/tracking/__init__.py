"""Following parcels on the road: drivers' route events, live ETAs, the public view."""
