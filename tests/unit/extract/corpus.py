"""Where the shared Duckling corpora live, read once at import.

PIGEON_CORPORA_DIR is read here, at import time, because the suite's
conftest scrubs PIGEON_* variables before each test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
CORPORA = Path(os.environ.get("PIGEON_CORPORA_DIR") or ROOT.parent / "shared" / "corpora")
MAIN = CORPORA / "time-en-duckling.jsonl"
NEGATIVE = CORPORA / "time-en-duckling-negative.jsonl"
MISSING_REASON = f"Duckling corpora not found at {CORPORA} (set PIGEON_CORPORA_DIR)"


def available() -> bool:
    return MAIN.is_file() and NEGATIVE.is_file()


def rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def is_core(row: dict[str, Any]) -> bool:
    return row["split"] == "main" and not row.get("holiday") and not row["latent"]
