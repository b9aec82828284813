"""Provider secrets sealed at rest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pigeon.crypto import SealedWithAnotherKey, SecretBox, SecretsUnavailable

KEY = "k" * 40


def test_sealed_values_open_with_the_same_key_only() -> None:
    box = SecretBox(KEY)
    sealed = box.seal({"client_secret": "s3cr3t", "n": 1})
    assert "s3cr3t" not in sealed
    assert box.open(sealed) == {"client_secret": "s3cr3t", "n": 1}
    assert box.seal({"a": 1}) != box.seal({"a": 1})  # a fresh nonce each time
    with pytest.raises(SealedWithAnotherKey):
        SecretBox("x" * 40).open(sealed)


def test_a_tampered_value_is_refused() -> None:
    box = SecretBox(KEY)
    version, fingerprint, blob = box.seal({"a": 1}).split(":", 2)
    flipped = blob[:-4] + ("AAAA" if blob[-4:] != "AAAA" else "BBBB")
    with pytest.raises(SealedWithAnotherKey):
        box.open(f"{version}:{fingerprint}:{flipped}")


def test_sqlite_keeps_a_key_file_beside_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/pigeon.db"
    sealed = SecretBox.for_database(url, None).seal({"password": "p"})
    key_file = tmp_path / "pigeon.key"
    assert key_file.exists()
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    assert SecretBox.for_database(url, None).open(sealed) == {"password": "p"}


def test_postgres_without_a_key_refuses_to_store_secrets() -> None:
    box = SecretBox.for_database("postgresql+psycopg://u@h/db", None)
    with pytest.raises(SecretsUnavailable) as refused:
        box.seal({"password": "p"})
    assert "PIGEON_SECRET_KEY" in str(refused.value)
    assert box.open(None) == {}
