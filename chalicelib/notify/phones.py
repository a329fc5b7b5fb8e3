"""Customers' phone numbers as SNS wants them: E.164, validated with libphonenumber."""

from __future__ import annotations


class InvalidPhoneNumber(ValueError):
    """Not a phone number an SMS can be sent to; the message says why."""


def to_e164(raw: str, default_region: str | None = None) -> str:
    """The number in E.164 (+447911123456). A national number (07911 123456) is read in the
    delivery country's plan. Raises InvalidPhoneNumber for anything not a real, assignable
    number (reserved ranges such as Ofcom's 07700 900xxx drama numbers included)."""
    import phonenumbers  # here, not at import: its metadata is heavy and few routes need it

    try:
        number = phonenumbers.parse(raw, (default_region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
