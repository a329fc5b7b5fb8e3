"""Partner carriers (Uber Direct, DoorDash Drive) that take the orders our fleet cannot: the
port, one adapter per carrier, the choice between their quotes and how their statuses apply."""
