"""Reversible PII redaction for text that leaves the process.

Emails, card numbers (Luhn-checked), national ids (US SSN, UK NINO) and
phone numbers (found by `phonenumbers`) are replaced by numbered
placeholders such as ``[PHONE_1]``; `Redaction.restore` puts them back in
whatever the model returns. Order matters: cards and ids are taken before
phones, so a 16-digit card is never mistaken for a phone number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_NINO = re.compile(
    r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", re.IGNORECASE
)
_PLACEHOLDER = re.compile(r"\[(EMAIL|CARD|NATIONAL_ID|PHONE)_(\d+)\]")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum used by payment card numbers."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


@dataclass(frozen=True, slots=True)
class Redaction:
    text: str
    secrets: dict[str, str] = field(default_factory=dict)

    def restore(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.secrets.get(m.group(0), m.group(0)), text)


class _Vault:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    def token(self, kind: str, value: str) -> str:
        for token, known in self.secrets.items():
            if known == value and token.startswith(f"[{kind}_"):
                return token
        self.counts[kind] = self.counts.get(kind, 0) + 1
        token = f"[{kind}_{self.counts[kind]}]"
        self.secrets[token] = value
        return token


def redact(text: str, region: str = "US") -> Redaction:
    """Replace PII in `text` with placeholders; keep what is needed to restore it."""
    vault = _Vault()
    text = _EMAIL.sub(lambda m: vault.token("EMAIL", m.group(0)), text)

    def card(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return vault.token("CARD", m.group(0))
        return m.group(0)

    text = _CARD.sub(card, text)
    text = _SSN.sub(lambda m: vault.token("NATIONAL_ID", m.group(0)), text)
    text = _NINO.sub(lambda m: vault.token("NATIONAL_ID", m.group(0)), text)
    text = _redact_phones(text, region, vault)
    return Redaction(text, dict(vault.secrets))


def _redact_phones(text: str, region: str, vault: _Vault) -> str:
    out, last = [], 0
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
    for match in matcher:
        if _PLACEHOLDER.search(match.raw_string):
            continue
        out.append(text[last : match.start])
        out.append(vault.token("PHONE", match.raw_string))
        last = match.end
    out.append(text[last:])
    return "".join(out)
