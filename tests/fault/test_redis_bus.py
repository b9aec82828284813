"""The Redis bus notices a Redis that stops answering without closing its connections, and
a process that has not started it (the CLI) still publishes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pigeon.bus.redis_pubsub import RedisBus
from pigeon.config import load_settings
from pigeon.errors import ConfigError
from tests.fault.harness import RedisServer

pytestmark = [pytest.mark.fault, pytest.mark.redis]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.popen is not None and server.popen.poll() is None:
        os.kill(server.popen.pid, signal.SIGCONT)
    server.stop()


async def _until(check: object, timeout: float) -> float:
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


@pytest.mark.anyio
async def test_a_paused_redis_is_an_outage_and_its_return_a_recovery(
    redis_server: RedisServer,
) -> None:
    bus = RedisBus(redis_server.url, prefix=f"t{uuid.uuid4().hex[:6]}:")
    await bus.start()
    try:
        assert bus.healthy
        assert redis_server.popen is not None
        os.kill(redis_server.popen.pid, signal.SIGSTOP)  # answers nothing, closes nothing
        noticed = await _until(lambda: not bus.healthy, timeout=15)
        assert noticed < 12
        os.kill(redis_server.popen.pid, signal.SIGCONT)
        await _until(lambda: bus.healthy, timeout=20)
    finally:
        await bus.stop()


@pytest.mark.anyio
async def test_a_bus_never_started_still_publishes(redis_server: RedisServer) -> None:
    """`pigeon devices revoke` runs no event loop; the running servers must still hear it."""
    prefix = f"t{uuid.uuid4().hex[:6]}:"
    server, cli = (
        RedisBus(redis_server.url, prefix=prefix),
        RedisBus(redis_server.url, prefix=prefix),
    )
    await server.start()
    try:
        heard = server.subscribe("devices")
        cli.publish("devices", {"revoked": "d-1"})
        assert await heard.get(5) == ("devices", {"revoked": "d-1"})
    finally:
        await server.stop()


def test_a_malformed_redis_url_is_refused_naming_the_setting() -> None:
    for url in ("localhost:6379", "notaurl", "http://127.0.0.1:6379"):
        with pytest.raises(ConfigError, match="PIGEON_REDIS_URL"):
            load_settings({"PIGEON_REDIS_URL": url})
    with pytest.raises(ConfigError, match="PIGEON_REDIS_URL"):
        RedisBus("redis://127.0.0.1:notaport/0")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
