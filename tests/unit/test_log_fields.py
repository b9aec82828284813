"""No log call passes a field the standard library reserves: `extra={"created": ...}` raises
KeyError inside logging, at the level that is on in production and off in most tests."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pigeon

RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def test_no_log_extra_uses_a_reserved_name() -> None:
    offenders = []
    for path in Path(pigeon.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            extra = isinstance(node, ast.keyword) and node.arg == "extra"
            if extra and isinstance(node.value, ast.Dict):  # type: ignore[attr-defined]
                for key in node.value.keys:  # type: ignore[attr-defined]
                    if isinstance(key, ast.Constant) and key.value in RESERVED:
                        offenders.append(f"{path.name}:{key.lineno} {key.value!r}")
    assert not offenders


def test_libraries_that_log_content_stay_quiet_at_debug() -> None:
    from pigeon import log

    root = logging.getLogger()
    saved = root.level, list(root.handlers)
    try:
        log.setup("DEBUG")
        assert logging.getLogger("pigeon.workers.consumer").isEnabledFor(logging.DEBUG)
        for name in ("imaplib", "imapclient.imaplib", "httpx", "msal", "google.auth"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
