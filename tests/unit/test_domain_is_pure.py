"""The domain imports no adapter: no database, web, network or file-system library."""

from __future__ import annotations

import ast
from pathlib import Path

import pigeon.domain

# Pure parsing, calendar arithmetic and a template engine built with no loader (no I/O).
ALLOWED_THIRD_PARTY = {"phonenumbers", "dateutil", "liquid"}
FORBIDDEN_FIRST_PARTY = (
    "pigeon.store",
    "pigeon.api",
    "pigeon.services",
    "pigeon.bus",
    "pigeon.workers",
    "pigeon.channels",
    "pigeon.cli",
    "pigeon.bootstrap",
)
STDLIB_IO = {"sqlite3", "socket", "http", "urllib", "subprocess", "os", "pathlib", "asyncio"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_imports_nothing_impure() -> None:
    folder = Path(pigeon.domain.__file__).parent
    offenders = {}
    for path in folder.glob("*.py"):
        for name in _imports(path):
            root = name.split(".")[0]
            if name.startswith(FORBIDDEN_FIRST_PARTY) or root in STDLIB_IO:
                offenders[path.name] = name
            elif root not in {"pigeon", "__future__"} and root not in ALLOWED_THIRD_PARTY:
                module = __import__(root)
                if "site-packages" in (getattr(module, "__file__", "") or ""):
                    offenders[path.name] = name
    assert offenders == {}
