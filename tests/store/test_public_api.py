"""The store's and workflow's public names are exactly their ``__all__``."""

from __future__ import annotations

import leadrelay.store
import leadrelay.workflow


def test_store_exports_exactly_its_public_api() -> None:
    public = {n for n in dir(leadrelay.store) if not n.startswith("_")}
    modules = {
        "engine", "tables", "org", "policies", "snapshot", "leads", "routing",
        "keys", "browse", "idempotency", "outbox", "dedupe", "outcomes",
    }  # fmt: skip
    assert public - modules == set(leadrelay.store.__all__)


def test_workflow_exports_route_lead_route_many_and_their_result() -> None:
    assert leadrelay.workflow.__all__ == ["RouteResult", "route_lead", "route_many"]
