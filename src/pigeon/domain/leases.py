"""Leases with fencing, as values: who holds a claim, until when, under which token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


@dataclass(frozen=True)
class Lease:
    token: str
    holder: str
    expires_at: datetime

    @classmethod
    def new(cls, holder: str, expires_at: datetime) -> Lease:
        return cls(token=str(uuid.uuid4()), holder=holder, expires_at=expires_at)
