"""A LaunchAgent for the gateway: started at login, restarted after a crash, not after a
clean stop. The plist carries the agent's settings, the device token included, so it is
written 0600."""

from __future__ import annotations

import contextlib
import os
import plistlib
import shlex
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

LABEL = "dev.pigeon.gateway"
EXIT_TIMEOUT_SECONDS = 90
THROTTLE_SECONDS = 10


def plist_for(program: Sequence[str], env: Mapping[str, str], log_dir: Path) -> bytes:
    """The LaunchAgent running `program` (an argument list) with `env`, logging under
    `log_dir`."""
    if not program:
        raise ValueError("the LaunchAgent needs a program to run")
    job = {
        "Label": LABEL,
        "ProgramArguments": list(program),
        "EnvironmentVariables": dict(env),
        "RunAtLoad": True,
        # Restart when it exits in failure (a crash, a signal), not when it stops cleanly
        # (SIGTERM from `launchctl bootout` or a user's kill: the agent exits 0 then).
        "KeepAlive": {"SuccessfulExit": False},
        # An agent failing at start (a revoked token) must not be respawned in a tight loop.
        "ThrottleInterval": THROTTLE_SECONDS,
        # launchd's SIGKILL comes 20 s after SIGTERM by default: too soon for a send that
        # may take PIGEON_SEND_TIMEOUT (30 s) to finish and be reported.
        "ExitTimeOut": EXIT_TIMEOUT_SECONDS,
        # Interactive: the limits of an app, i.e. none. Left Standard or Background, launchd
        # throttles its CPU and I/O and coalesces its timers, which delays the sends a user
        # queued and the heartbeats the server watches; the agent mostly waits, so being
        # unthrottled costs the Mac nothing.
        "ProcessType": "Interactive",
        "StandardOutPath": str(log_dir / "gateway.out.log"),
        "StandardErrorPath": str(log_dir / "gateway.err.log"),
    }
    return plistlib.dumps(job, fmt=plistlib.FMT_XML, sort_keys=True)


def install(path: Path, plist: bytes) -> None:
    """Write `plist` to `path` atomically, mode 0600 (it holds the device token), and make
    its log directories: launchd does not create them, and fails to start the job without."""
    job = plistlib.loads(plist)  # refuse to install something launchd could not read
    for key in ("StandardOutPath", "StandardErrorPath"):
        if key in job:
            Path(job[key]).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file 0600 from the start: the token is never readable by others,
    # not even for a moment.
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(plist)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def default_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{LABEL}.plist"


def next_steps(path: Path) -> str:
    """What to run to start, restart and stop the LaunchAgent at `path`."""
    quoted = shlex.quote(str(path))
    return "\n".join(
        (
            "Start it now (it then starts at every login):",
            f"  launchctl bootstrap gui/$(id -u) {quoted}",
            "Stop it (it starts again at the next login unless the file is removed):",
            f"  launchctl bootout gui/$(id -u)/{LABEL}",
            "After changing the file, bootout then bootstrap again. Its state:",
            f"  launchctl print gui/$(id -u)/{LABEL}",
        )
    )
