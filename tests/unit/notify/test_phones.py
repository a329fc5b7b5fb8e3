from __future__ import annotations

import pytest

from chalicelib.notify.phones import InvalidPhoneNumber, to_e164


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+447911123456", None, "+447911123456"),
        ("07911 123456", "GB", "+447911123456"),
        ("+44 (0)7911 123-456", "FR", "+447911123456"),
        ("06 12 34 56 78", "fr", "+33612345678"),
        ("+1 202-555-0143", None, "+12025550143"),
    ],
)
def test_numbers_come_out_in_e164(raw: str, region: str | None, e164: str) -> None:
    assert to_e164(raw, region) == e164


@pytest.mark.parametrize(
    "raw",
    ["", "not a number", "+4477009", "07911 123456", "+447700900456", "+99912345678"],
)
def test_what_cannot_be_texted_is_refused(raw: str) -> None:
    # a national number without the country, a reserved (drama) range, a country that isn't
    with pytest.raises(InvalidPhoneNumber):
        to_e164(raw, None)
