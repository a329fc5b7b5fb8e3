from typing import get_args

from chalicelib.api.admin import VehicleIn
from chalicelib.domain.tenancy import VEHICLE_PROFILES
from chalicelib.routing.model import PROFILES


def test_fleet_profiles_are_the_planner_profiles() -> None:
    # The API must not import the planner (it pulls in ortools), so the names are repeated.
    assert set(VEHICLE_PROFILES) == set(PROFILES)
    assert set(get_args(VehicleIn.model_fields["profile"].annotation)) == set(PROFILES)
