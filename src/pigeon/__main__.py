from __future__ import annotations

from pigeon.cli import main

main()
