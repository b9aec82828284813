"""Recipient handles: E.164 phone numbers or email addresses, normalised."""

from __future__ import annotations

import functools
import re

import phonenumbers

from pigeon.errors import ValidationError

# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is the
# provider's business; this catches typos and garbage.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def normalize_handle(raw: str, *, field: str = "recipient", region: str | None = None) -> str:
    """Return the canonical form: E.164 for phones, lower-cased domain for emails."""
    problem, canonical = _canonical(raw.strip(), region)
    if problem is not None:
        raise ValidationError.field(field, problem)
    return canonical


# Outreach sends to the same people again and again, and parsing a phone number is the
# costliest step of creating a message; the answer for a given text never changes.
@functools.lru_cache(maxsize=8192)
def _canonical(value: str, region: str | None) -> tuple[str | None, str]:
    """(problem, "") for an invalid handle, else (None, canonical form)."""
    if not value:
        return "must not be empty", ""
    if len(value) > 254:
        return "is too long", ""
    if "@" in value:
        if not _EMAIL.match(value):
            return f"{value!r} is not a valid email address", ""
        local, domain = value.rsplit("@", 1)
        return None, f"{local}@{domain.lower()}"
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return f"{value!r} is neither an email address nor a phone number in E.164 form", ""
    if not phonenumbers.is_valid_number(number):
        return f"{value!r} is not a valid phone number", ""
    return None, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
