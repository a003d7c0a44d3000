"""The store's and workflow's public names are exactly their ``__all__``."""

from __future__ import annotations

import inspect

import leadrelay.store
import leadrelay.workflow


def test_store_exports_exactly_its_public_api() -> None:
    # submodules show up as attributes once anything imports them: they are not the API
    public = {
        n
        for n in dir(leadrelay.store)
        if not n.startswith("_") and not inspect.ismodule(getattr(leadrelay.store, n))
    }
    assert public == set(leadrelay.store.__all__)


def test_workflow_exports_route_lead_route_many_and_their_result() -> None:
    assert leadrelay.workflow.__all__ == ["RouteResult", "route_lead", "route_many"]
