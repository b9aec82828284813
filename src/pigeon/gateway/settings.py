"""The agent's configuration, from the environment (and `pigeon gateway` options).

pigeon's own names first, then seed 002's gateway script's (`API_BASE_URL`, `GATEWAY_ID`,
`POLL_SECONDS`), so an existing LaunchAgent or shell script keeps working. A bad value is
a `ConfigError` naming the variable.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pigeon.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

DRIVERS = ("messages", "console", "command")
MAX_BATCH = 100  # the server's claim limit
MAX_CLAIM_WAIT = 60  # the longest wait the server takes in one claim


@dataclass(frozen=True)
class AgentSettings:
    url: str
    token: str
    name: str
    driver: str
    journal: Path
    poll_seconds: float = 20.0
    batch: int = 10
    heartbeat_seconds: float = 30.0
    send_timeout: float = 30.0
    # A pause between two sends: Apple flags accounts that send in bursts as spam.
    send_interval: float = 0.0
    osascript: str = "osascript"
    sms_fallback: bool = False
    command: tuple[str, ...] = ()
    chat_db: Path | None = None  # None: no inbound sync
    inbound_seconds: float = 5.0
    # What the launchd plist must carry over (names as given, so seed names stay seed names).
    environment: Mapping[str, str] = field(default_factory=dict)


def default_state_dir() -> Path:
    home = Path.home()
    if platform.system() == "Darwin":
        return home / "Library" / "Application Support" / "pigeon"
    return Path(os.environ.get("XDG_STATE_HOME") or home / ".local" / "state") / "pigeon"


def default_journal(token: str) -> Path:
    """Named after the device token, not the host: a renamed Mac keeps its journal, and two
    agents of one device on one Mac meet at the journal's lock."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return default_state_dir() / f"gateway-{digest}.db"


def default_chat_db() -> Path:
    return Path.home() / "Library" / "Messages" / "chat.db"


def load(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, str] | None = None
) -> AgentSettings:
    """Settings from `env` (default: os.environ); `overrides` are `pigeon gateway`'s options,
    by variable name, and win over the environment."""
    source = {**(os.environ if env is None else env), **(overrides or {})}
    url_name = _first(source, "PIGEON_URL", "API_BASE_URL") or "PIGEON_URL"
    url = source.get(url_name, "http://127.0.0.1:8000").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(url_name, f"must be an http:// or https:// URL, not {url!r}")
    token = source.get("PIGEON_DEVICE_TOKEN", "").strip()
    if not token:
        raise ConfigError(
            "PIGEON_DEVICE_TOKEN",
            "is required: the device token shown once when the device was added "
            "(POST /v1/devices or `pigeon devices add`)",
        )
    name = source.get("PIGEON_GATEWAY_NAME") or source.get("GATEWAY_ID") or socket.gethostname()
    driver = source.get("PIGEON_GATEWAY_DRIVER") or (
        "messages" if platform.system() == "Darwin" else ""
    )
    if not driver:
        # No silent default off a Mac: console would report every message sent unsent.
        raise ConfigError(
            "PIGEON_GATEWAY_DRIVER",
            "is required off macOS (messages needs Messages.app): console prints each "
            "message instead of sending it; command runs a program of yours",
        )
    if driver not in DRIVERS:
        raise ConfigError("PIGEON_GATEWAY_DRIVER", f"must be one of {', '.join(DRIVERS)}")
    command = tuple(shlex.split(source.get("PIGEON_GATEWAY_COMMAND", "")))
    if driver == "command" and not command:
        raise ConfigError("PIGEON_GATEWAY_COMMAND", "is required with the command driver")
    osascript = source.get("PIGEON_OSASCRIPT", "osascript")
    if driver == "messages" and shutil.which(osascript) is None:
        raise ConfigError(
            "PIGEON_GATEWAY_DRIVER",
            "the messages driver needs osascript (macOS); use console or command elsewhere",
        )
    journal = source.get("PIGEON_GATEWAY_JOURNAL")
    return AgentSettings(
        url=url,
        token=token,
        name=name,
        driver=driver,
        journal=Path(journal).expanduser() if journal else default_journal(token),
        poll_seconds=_number(
            source, ("PIGEON_POLL_SECONDS", "POLL_SECONDS"), 20.0, 0, MAX_CLAIM_WAIT
        ),
        batch=_integer(source, "PIGEON_GATEWAY_BATCH", 10, 1, MAX_BATCH),
        heartbeat_seconds=_number(source, ("PIGEON_HEARTBEAT_SECONDS",), 30.0, 1, 3600),
        send_timeout=_number(source, ("PIGEON_SEND_TIMEOUT",), 30.0, 1, 600),
        send_interval=_number(source, ("PIGEON_SEND_INTERVAL",), 0.0, 0, 3600),
        osascript=osascript,
        sms_fallback=_flag(source, "PIGEON_SMS_FALLBACK", default=False),
        command=command,
        chat_db=_chat_db(source, driver),
        inbound_seconds=_number(source, ("PIGEON_INBOUND_SECONDS",), 5.0, 0.1, 3600),
        environment={k: v for k, v in source.items() if k in CARRIED},
    )


CARRIED = frozenset(
    {
        "PIGEON_URL",
        "API_BASE_URL",
        "PIGEON_DEVICE_TOKEN",
        "GATEWAY_ID",
        "PIGEON_GATEWAY_NAME",
        "POLL_SECONDS",
        "PIGEON_POLL_SECONDS",
        "PIGEON_GATEWAY_DRIVER",
        "PIGEON_GATEWAY_COMMAND",
        "PIGEON_GATEWAY_JOURNAL",
        "PIGEON_GATEWAY_BATCH",
        "PIGEON_GATEWAY_INBOUND",
        "PIGEON_CHAT_DB",
        "PIGEON_OSASCRIPT",
        "PIGEON_SMS_FALLBACK",
        "PIGEON_SEND_TIMEOUT",
        "PIGEON_SEND_INTERVAL",
        "PIGEON_HEARTBEAT_SECONDS",
        "PIGEON_INBOUND_SECONDS",
    }
)


def _chat_db(source: Mapping[str, str], driver: str) -> Path | None:
    """Inbound sync reads Messages' database: on by default with the messages driver."""
    if not _flag(source, "PIGEON_GATEWAY_INBOUND", default=driver == "messages"):
        return None
    given = source.get("PIGEON_CHAT_DB")
    return Path(given).expanduser() if given else default_chat_db()


def _first(source: Mapping[str, str], *names: str) -> str | None:
    return next((name for name in names if source.get(name)), None)


def _number(
    source: Mapping[str, str], names: tuple[str, ...], default: float, low: float, high: float
) -> float:
    name = _first(source, *names)
    if name is None:
        return default
    try:
        value = float(source[name])
    except ValueError:
        raise ConfigError(name, f"must be a number, not {source[name]!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low:g} and {high:g}")
    return value


def _integer(source: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = source.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low} and {high}")
    return value


def _flag(source: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = source.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, "must be on or off")
