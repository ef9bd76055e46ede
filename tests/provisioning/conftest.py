"""Fixtures for provisioning tests: run `edgepost provision ...` in-process on a temp site."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gateway.cli import provision_cmd

if TYPE_CHECKING:
    from tests.provisioning.brokerkit import Client


def run_provision(site: Path, *args: str) -> int:
    """Run ``edgepost provision --site SITE ARGS...`` and return its exit status."""
    parser = argparse.ArgumentParser(prog="edgepost")
    sub = parser.add_subparsers()
    provision_cmd.add_parser(sub)
    ns = parser.parse_args(["provision", "--site", str(site), *args])
    return int(ns.func(ns))


@pytest.fixture
def provision() -> type[_Runner]:
    return _Runner


class _Runner:
    @staticmethod
    def __call__(site: Path, args: Sequence[str]) -> int:  # pragma: no cover - helper
        return run_provision(site, *args)


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    """MQTT clients a test connects (``brokerkit.connect``); all closed at the end."""
    made: list[Client] = []
    yield made
    for c in made:
        c.close()
