"""Request dependencies: the container, and who is calling."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request

from pigeon.bootstrap import Container
from pigeon.domain.accounts import Device, Scope
from pigeon.services import auth
from pigeon.services.context import Principal, Services


def container(request: Request) -> Container:
    built: Container = request.app.state.container
    return built


def closing(request: Request) -> asyncio.Event:
    """Set once the server is shutting down; long-lived responses end when it is."""
    event: asyncio.Event = request.app.state.closing
    return event


def services(request: Request) -> Services:
    return container(request).services


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _key(scope: Scope):  # type: ignore[no-untyped-def]
    def dependency(request: Request) -> Principal:
        return auth.api_key(services(request), bearer(request), scope)

    return dependency


def _device(request: Request) -> Device:
    return auth.device(services(request), bearer(request))


def _operator(request: Request) -> str:
    return auth.operator(services(request), bearer(request))


Svc = Annotated[Services, Depends(services)]
Admin = Annotated[Principal, Depends(_key(Scope.ADMIN))]
Sender = Annotated[Principal, Depends(_key(Scope.SEND))]
Reader = Annotated[Principal, Depends(_key(Scope.READ))]
DeviceAuth = Annotated[Device, Depends(_device)]
Operator = Annotated[str, Depends(_operator)]


def _stream_reader(request: Request, access_token: str | None = None) -> Principal:
    """EventSource cannot send headers, so a stream also takes `?access_token=`."""
    return auth.api_key(services(request), bearer(request) or access_token, Scope.READ)


StreamReader = Annotated[Principal, Depends(_stream_reader)]
