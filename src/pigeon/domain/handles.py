"""Recipient handles: E.164 phone numbers or email addresses, normalised."""

from __future__ import annotations

import re

import phonenumbers

from pigeon.errors import ValidationError

# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is the
# provider's business; this catches typos and garbage.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def normalize_handle(raw: str, *, field: str = "recipient", region: str | None = None) -> str:
    """Return the canonical form: E.164 for phones, lower-cased domain for emails."""
    value = raw.strip()
    if not value:
        raise ValidationError.field(field, "must not be empty")
    if len(value) > 254:
        raise ValidationError.field(field, "is too long")
    if "@" in value:
        if not _EMAIL.match(value):
            raise ValidationError.field(field, f"{raw!r} is not a valid email address")
        local, domain = value.rsplit("@", 1)
        return f"{local}@{domain.lower()}"
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValidationError.field(
            field, f"{raw!r} is neither an email address nor a phone number in E.164 form"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError.field(field, f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
