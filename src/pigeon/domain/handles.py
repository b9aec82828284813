"""Recipient handles: E.164 phone numbers or email addresses, normalised."""

from __future__ import annotations

import functools
import re

import phonenumbers

from pigeon.domain.storable import text_problem
from pigeon.errors import ValidationError

# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is the
# provider's business; this catches typos and garbage.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


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
    if problem := text_problem(value):
        return problem, ""
    if "@" in value:
        if not _EMAIL.match(value):
            return f"{value!r} is not a valid email address", ""
        local, domain = value.rsplit("@", 1)
        return None, f"{local}@{domain.lower()}"
    if _is_valid_e164(value):
        return None, value
    return _parsed_phone(value, region)


def _parsed_phone(value: str, region: str | None) -> tuple[str | None, str]:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return f"{value!r} is neither an email address nor a phone number in E.164 form", ""
    if not phonenumbers.is_valid_number(number):
        return f"{value!r} is not a valid phone number", ""
    return None, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _is_valid_e164(value: str) -> bool:
    """True when `value`, digits after a +, is a valid number already in canonical form.

    A shortcut past `phonenumbers.parse`, which costs as much again as the validity check:
    most handles arrive in E.164. It answers True only where parse would find the same
    number (the split of the country code is unambiguous, and there is neither a leading
    zero nor a national prefix that parse would strip); anything else takes the full path.
    """
    if not _E164.fullmatch(value):
        return False
    digits = value[1:]
    for length in (1, 2, 3):
        country_code = int(digits[:length])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return False
    national = digits[length:]
    if national.startswith("0"):
        return False
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return False
    prefix = metadata.national_prefix_for_parsing
    if prefix and re.match(prefix, national):
        return False
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    return bool(phonenumbers.is_valid_number(number))
