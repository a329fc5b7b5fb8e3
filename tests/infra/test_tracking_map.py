"""The tracking page's map as deployed: an Amazon Location API key fenced to map tiles from the
tracking site, its value read by DescribeKey into Secrets Manager (never in the template), and
every function told the secret's name, which the app's role may read."""

from __future__ import annotations

import re
from typing import Any

from tests.infra.templates import (
    FUNCTION,
    PSEUDO,
    arn,
    as_list,
    evaluate,
    resources,
    statements_for,
)

MAPS_SECRET = "lastmile/platform/maps-api-key"


def test_the_map_key_opens_map_tiles_only_and_only_from_the_tracking_site(
    template: dict[str, Any],
) -> None:
    key = template["Resources"]["TrackingMapApiKey"]
    assert key["Type"] == "AWS::Location::APIKey"
    restrictions = key["Properties"]["Restrictions"]
    assert restrictions["AllowActions"] == ["geo-maps:GetTile", "geo-maps:GetStaticMap"]
    assert [evaluate(r) for r in restrictions["AllowResources"]] == [
        "arn:aws:geo-maps:eu-west-1::provider/default"
    ]
    # The pages send their origin alone as Referer (strict-origin): the key must take exactly
    # that, whatever path (an API stage) the public base URL has.
    for base_url in ("https://track.example.com/prod", "https://track.example.com"):
        deployed = PSEUDO | {"PublicBaseUrl": base_url}
        allowed = [evaluate(r, deployed) for r in restrictions["AllowReferers"]]
        assert allowed == ["https://track.example.com/", "https://track.example.com/*"]
        assert any(referer_matches(p, "https://track.example.com/") for p in allowed)
        for elsewhere in ("https://evil.example.com/", "https://track.example.com.evil.test/"):
            assert not any(referer_matches(p, elsewhere) for p in allowed), elsewhere


def referer_matches(pattern: str, referer: str) -> bool:
    """Amazon Location's referer patterns: `?` any one character, `*` any run of them."""
    regex = "".join("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, referer) is not None


def test_the_keys_value_goes_from_describe_key_into_secrets_manager(
    template: dict[str, Any],
) -> None:
    secret = template["Resources"]["TrackingMapApiKeySecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["Name"] == MAPS_SECRET
    value = secret["Properties"]["SecretString"]
    [(function, (custom, field))] = value.items()
    assert (function, field) == ("Fn::GetAtt", "Key"), "the described key, never a literal"
    described = template["Resources"][custom]
    assert described["Type"] == "Custom::AWS"
    create = str(described["Properties"]["Create"])
    assert "describeKey" in create and "lastmile-" in create and '"outputPaths":["Key"]' in create
    stage = resources(template, FUNCTION)["APIHandler"]["Properties"]["Environment"]["Variables"]
    expected = "Retain" if stage["LASTMILE_STAGE"] == "prod" else "Delete"
    assert secret["DeletionPolicy"] == expected


def test_every_function_is_told_the_map_secret_and_may_read_it(template: dict[str, Any]) -> None:
    for logical_id, function in resources(template, FUNCTION).items():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["LASTMILE_MAPS_API_KEY_SECRET_NAME"] == MAPS_SECRET, logical_id
    readable = [
        evaluate(s["Resource"])
        for s in statements_for(template, "DefaultRole")
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
    ]
    assert readable == [arn("secretsmanager", "secret:lastmile/*")]
