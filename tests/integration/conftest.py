"""Fixtures the API test modules share: the app in process, and a workspace of its own.

A module sets its own `settings` (tests/conftest.py builds the services from them), and may
replace either fixture below with one of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pigeon.services.context import Services
from tests.integration.test_api_support import (
    InProcessClient,
    Tenant,
    new_tenant,
    serve_in_process,
)


@pytest.fixture
def api(container: Services) -> Iterator[InProcessClient]:
    with serve_in_process(container) as client:
        yield client


@pytest.fixture
def tenant(api: InProcessClient) -> Tenant:
    return new_tenant(api)
