"""The tracking page's map tiles: an Amazon Location Service API key for its Maps API, allowed
map tiles and style only, from the tracking site only, and its value kept in Secrets Manager,
where the app reads it (bootstrap.map_tiles); the page falls back to its sketch without it."""

from __future__ import annotations

from aws_cdk import CfnResource, Fn, SecretValue, Stack
from aws_cdk import aws_location as location
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import custom_resources as cr
from constructs import Construct

from .removal import removal_for

# The construct id of the function CDK's AwsCustomResource runs its SDK calls in (one a stack).
PROVIDER_ID = "AWS679f53fac002430cb0da5b7982bd2287"
# What the key may do: fetch the style, its fonts and sprites, and tiles; nothing else.
MAP_ACTIONS = ["geo-maps:GetTile", "geo-maps:GetStaticMap"]


def site_referers(public_base_url: str) -> list[str]:
    """The Referers the key accepts: the tracking site's origin, which is all its pages send
    (`Referrer-Policy: strict-origin`, so the tracking code in the path stays home); a base
    URL's path (an API stage) is never in them. `https://host/` exactly, and `https://host/*`
    for whatever under it a browser may still send. The URL is a deploy parameter, so its host
    is cut out in the template (`https:` / "" / host / path...)."""
    origin = Fn.join("", ["https://", Fn.select(2, Fn.split("/", public_base_url)), "/"])
    return [origin, Fn.join("", [origin, "*"])]


class TrackingMap(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: str,
        secrets_prefix: str,
        public_base_url: str,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.secret_name = f"{secrets_prefix}/platform/maps-api-key"
        key_name = f"lastmile-{stage}-tracking-map"
        # A browser key: it travels in the page, so what it opens is fenced in instead.
        self.api_key = location.CfnAPIKey(
            self,
            "MapsApiKey",
            key_name=key_name,
            description="lastmile tracking page: map style and tiles, from the tracking site",
            no_expiry=True,
            restrictions=location.CfnAPIKey.ApiKeyRestrictionsProperty(
                allow_actions=MAP_ACTIONS,
                allow_resources=[f"arn:aws:geo-maps:{stack.region}::provider/default"],
                allow_referers=site_referers(public_base_url),
            ),
        )
        self.api_key.override_logical_id("TrackingMapApiKey")
        # CloudFormation does not return a key's value; DescribeKey does, once per deploy.
        described = cr.AwsCustomResource(
            self,
            "DescribeMapsApiKey",
            on_create=self._describe(key_name),
            on_update=self._describe(key_name),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[self.api_key.attr_arn]),
            install_latest_aws_sdk=False,
        )
        # The provider function CDK adds depends on its role twice (DependsOn and the GetAtt of
        # its Role), which cfn-lint flags (W3005): the GetAtt alone orders them.
        provider = stack.node.try_find_child(PROVIDER_ID)
        assert provider is not None, "AwsCustomResource's singleton provider"
        cfn_provider = provider.node.default_child
        assert isinstance(cfn_provider, CfnResource)
        cfn_provider.add_deletion_override("DependsOn")
        self.secret = secretsmanager.Secret(
            self,
            "MapsApiKeySecret",
            secret_name=self.secret_name,
            description="The tracking page's Amazon Location API key (maps only)",
            secret_string_value=SecretValue.resource_attribute(described.get_response_field("Key")),
            removal_policy=removal_for(stage),
        )
        child = self.secret.node.default_child
        assert isinstance(child, CfnResource)
        child.override_logical_id("TrackingMapApiKeySecret")
        self.environment = {"LASTMILE_MAPS_API_KEY_SECRET_NAME": self.secret_name}

    @staticmethod
    def _describe(key_name: str) -> cr.AwsSdkCall:
        return cr.AwsSdkCall(
            service="Location",
            action="describeKey",
            parameters={"KeyName": key_name},
            physical_resource_id=cr.PhysicalResourceId.of(key_name),
            output_paths=["Key"],  # the rest of the answer is not needed, nor kept
        )
