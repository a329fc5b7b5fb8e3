"""The Amazon Location geocoder through the real boto3 `geo-places` client, against a local fake."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from chalicelib.domain.order import Address
from chalicelib.geocoding import Located, NotLocated
from chalicelib.geocoding.amazon_location import AmazonLocationGeocoder
from chalicelib.local.geo_places_fake import GeoPlacesFake


@pytest.fixture
def fake() -> Iterator[GeoPlacesFake]:
    server = GeoPlacesFake(
        {"10 park street": (51.4531, -2.6022, 0.97), "bristol": (51.45, -2.58, 0.4)}
    ).start()
    yield server
    server.stop()


def geocoder(fake: GeoPlacesFake) -> AmazonLocationGeocoder:
    client = boto3.client(
        "geo-places",
        endpoint_url=fake.endpoint,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 2}),
    )
    return AmazonLocationGeocoder(client)


def an_address(line1: str) -> Address:
    return Address(line1=line1, city="Bristol", postcode="BS1 5HX", country="GB")


def test_a_precise_match_gives_coordinates(fake: GeoPlacesFake) -> None:
    assert geocoder(fake).locate(an_address("10 Park Street")) == Located(51.4531, -2.6022)
    assert fake.queries[0]["path"] == "/v2/geocode"
    assert fake.queries[0]["QueryText"] == "10 Park Street, Bristol, BS1 5HX, GB"


def test_a_vague_match_or_none_is_not_a_location(fake: GeoPlacesFake) -> None:
    vague = geocoder(fake).locate(an_address("Somewhere"))
    assert isinstance(vague, NotLocated)
    assert "too vague" in vague.reason
    fake.places.pop("bristol")
    missing = geocoder(fake).locate(an_address("Somewhere"))
    assert missing == NotLocated("geocoder found no such address")


def test_an_unavailable_geocoder_is_a_reason_not_a_crash(fake: GeoPlacesFake) -> None:
    fake.fail_with = 503
    result = geocoder(fake).locate(an_address("10 Park Street"))
    assert isinstance(result, NotLocated)
    assert result.reason.startswith("geocoder unavailable")
    assert len(fake.queries) > 1  # a 503 is retried with backoff before giving up
