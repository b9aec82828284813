"""Command line: parse, build the container, call one service, render."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="pigeon")
def main() -> None:
    """pigeon: reliable outbound messaging and follow-ups."""
