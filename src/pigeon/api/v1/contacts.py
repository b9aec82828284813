"""/v1 contacts routes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
