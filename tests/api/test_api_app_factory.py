"""The app ``leadrelay serve`` runs: what its factory does beyond building the routes."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from leadrelay.api.app import app_from_env


def test_the_served_app_freezes_what_lives_as_long_as_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector's full passes skip the objects there at start (a 35-65 ms pause each)."""
    monkeypatch.setenv("LEADRELAY_DB", f"sqlite:///{tmp_path / 'leadrelay.db'}")
    gc.unfreeze()
    try:
        app = app_from_env()
        assert gc.get_freeze_count() > 10_000
        with TestClient(app) as client:  # and it serves
            assert client.get("/healthz").status_code == 200
    finally:
        gc.unfreeze()
