"""pigeon: self-hosted server for reliable outbound messaging, outreach and follow-ups."""

from __future__ import annotations

__version__ = "0.1.0"
