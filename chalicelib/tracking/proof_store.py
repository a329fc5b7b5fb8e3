"""Proof-of-delivery images in S3: presigned POSTs whose policy bounds what a phone may upload
(the exact key, an image type, a size range), what an uploaded object is, and short-lived
presigned GETs for the merchant and the customer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError


@dataclass(frozen=True)
class Stored:
    size: int
    content_type: str


class ProofStore:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def upload_form(
        self, key: str, content_type: str, sizes: tuple[int, int], seconds: int
    ) -> dict[str, Any]:
        """A presigned POST (`url` and the form `fields` to send with the file) that S3 takes
        only for this key, this image type and a size within `sizes`."""
        low, high = sizes
        conditions: list[Any] = [
            {"Content-Type": content_type},
            ["starts-with", "$Content-Type", "image/"],
            ["content-length-range", low, high],
        ]
        form = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,  # botocore adds the exact key (and bucket) to the policy's conditions
            Fields={"Content-Type": content_type},
            Conditions=conditions,
            ExpiresIn=seconds,
        )
        return {"url": str(form["url"]), "fields": dict(form["fields"])}

    def stored(self, key: str) -> Stored | None:
        """The uploaded object's size and type, or None when nothing is at `key`."""
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return Stored(int(head.get("ContentLength", 0)), str(head.get("ContentType", "")))

    def read_url(self, key: str, seconds: int) -> str:
        """A presigned GET of `key`, good for `seconds`."""
        params = {"Bucket": self._bucket, "Key": key}
        return str(self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds))
