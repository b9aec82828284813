"""Secrets encrypted at rest: provider credentials (client secrets, passwords, service
account keys) are sealed with AES-256-GCM before they reach the database.

The key comes from PIGEON_SECRET_KEY (every process of a deployment needs the same one).
On SQLite, when it is not set, a random key is made once and kept in a file beside the
database (mode 0600), so `pigeon serve` needs no setup; a database copied without that file
keeps its secrets sealed. On PostgreSQL the key must be set: there is no one place beside
the database that every process shares.

A sealed value names the key it was sealed with (a fingerprint), so a wrong key is reported
as such instead of as corrupt data.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pigeon.errors import Conflict, PigeonError

VERSION = "v1"
KEY_FILE = "pigeon.key"


class SecretsUnavailable(Conflict):
    """Provider secrets cannot be stored or read: set PIGEON_SECRET_KEY on every process."""


class SealedWithAnotherKey(PigeonError):
    """These secrets were sealed with another PIGEON_SECRET_KEY."""


class SecretBox:
    def __init__(self, key_material: str | None) -> None:
        self._key = None if key_material is None else _derive(key_material)

    @classmethod
    def for_database(cls, database_url: str, configured: str | None) -> SecretBox:
        if configured is not None:
            return cls(configured)
        if database_url.startswith("sqlite:///"):
            return _KeyFileBox(_key_path(database_url))
        return cls(None)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self._require()).hexdigest()[:8]

    def seal(self, values: dict[str, Any]) -> str:
        """`values` as one sealed text; empty mappings seal too (nothing to hide, still
        uniform)."""
        key = self._require()
        nonce = secrets.token_bytes(12)
        plain = json.dumps(values, separators=(",", ":")).encode()
        sealed = AESGCM(key).encrypt(nonce, plain, VERSION.encode())
        return f"{VERSION}:{self.fingerprint}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str | None) -> dict[str, Any]:
        if not sealed:
            return {}
        version, fingerprint, blob = sealed.split(":", 2)
        if version != VERSION:
            raise SealedWithAnotherKey(f"unknown sealing version {version!r}")
        if fingerprint != self.fingerprint:
            raise SealedWithAnotherKey()
        raw = base64.b64decode(blob)
        try:
            plain = AESGCM(self._require()).decrypt(raw[:12], raw[12:], VERSION.encode())
        except InvalidTag:
            raise SealedWithAnotherKey("sealed secrets failed their integrity check") from None
        value: dict[str, Any] = json.loads(plain)
        return value

    def _require(self) -> bytes:
        if self._key is None:
            raise SecretsUnavailable()
        return self._key


class _KeyFileBox(SecretBox):
    """The SQLite default: the key lives in a file beside the database, made on first use."""

    def __init__(self, path: Path) -> None:
        super().__init__(None)
        self._path = path

    def _require(self) -> bytes:
        if self._key is None:
            self._key = _derive(_read_or_make(self._path))
        return self._key


def _derive(material: str) -> bytes:
    if len(material) < 32:
        raise SecretsUnavailable("PIGEON_SECRET_KEY must be at least 32 characters")
    return hashlib.sha256(b"pigeon-secrets:" + material.encode()).digest()


def _key_path(database_url: str) -> Path:
    database = Path(database_url.removeprefix("sqlite:///"))
    return database.parent / KEY_FILE


def _read_or_make(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    material = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(material + "\n")
    return material
