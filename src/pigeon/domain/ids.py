"""Identifiers and secrets.

Ids are UUIDv7 strings: time-ordered, so B-tree inserts stay local and cursor pagination by id
follows creation order.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import uuid

_last_id = 0
_id_lock = threading.Lock()


def new_id() -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits.

    Monotonic within a process (RFC 9562 method 3): an id made in the same millisecond as
    the previous one is the previous plus one, so a batch keeps its order wherever ids sort it.
    """
    global _last_id
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(secrets.token_bytes(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= (rand >> 68 & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    with _id_lock:
        if value <= _last_id:
            value = _last_id + 1
        _last_id = value
    return str(uuid.UUID(int=value))


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def new_secret(prefix: str) -> str:
    """A bearer secret such as `pgn_admin_...`; the prefix tells people what it is."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret; enough at rest, since secrets are never guessable."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def display_prefix(secret: str) -> str:
    """What a listing may show of a secret: enough to recognise it, not to use it."""
    return secret[:14]
