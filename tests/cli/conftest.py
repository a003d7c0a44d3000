"""Fixtures for the CLI tests: the demo org's files, built once, and a database holding it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.cli_support import load_org

from leadrelay.demo_org import DemoFiles, build_demo


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    """The demo org and 200 of its leads (read-only: tests write their own files elsewhere)."""
    return build_demo(tmp_path_factory.mktemp("cli-demo"), leads=200)


@pytest.fixture
def org_db(sqlite_url: str, demo_files: DemoFiles) -> str:
    """A SQLite database holding the demo org's reps, teams and accounts."""
    load_org(sqlite_url, demo_files.reps, demo_files.teams, demo_files.accounts)
    return sqlite_url


@pytest.fixture
def policy(demo_files: DemoFiles) -> Path:
    return demo_files.policy
