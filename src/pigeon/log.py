"""Logging: one line per event, with a stable `action` name; bodies are never logged."""

from __future__ import annotations

import json
import logging
import sys

STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname:<7} {record.name}: "
        line += record.getMessage()
        extra = {k: v for k, v in record.__dict__.items() if k not in STANDARD}
        if extra:
            line += " " + json.dumps(extra, default=str, sort_keys=True)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = max(logging.WARNING, root.level)
    # Alembic says which dialect it found each time health reads the schema's revision.
    logging.getLogger("alembic.runtime.migration").setLevel(quiet)
    # At DEBUG these libraries log what goes over the wire: whole messages (imaplib's
    # untagged responses), provider responses and tokens. pigeon's own DEBUG lines never do.
    for name in LIBRARIES_THAT_LOG_CONTENT:
        logging.getLogger(name).setLevel(quiet)


LIBRARIES_THAT_LOG_CONTENT = (
    "imapclient",
    "imaplib",
    "httpx",
    "httpcore",
    "msal",
    "google",
    "urllib3",
    "requests",
    "redis",
    "psycopg",
    "sqlalchemy",
)
