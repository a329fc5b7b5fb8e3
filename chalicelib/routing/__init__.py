"""The route planner: VRP with windows, capacities, shifts, breaks, skills, pickups, lockers
and priorities, solved by OR-Tools (with PyVRP in the portfolio where it applies)."""
