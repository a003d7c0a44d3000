"""What observability costs routing per lead: the calls ``observed_route`` / ``observed_batch``
add around live and bulk routing (counters, histogram, the log-level check), with logging off
as it is unless configured. ``decide`` itself carries no instrumentation, so ``bench decide`` is
unchanged by construction; the figure here is what a routed lead pays on top, beside the time
one ``decide`` takes on the bench policy (same run)."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.common import Result, median_seconds, say
from bench.org import build_org, load_policy, make_leads, policy_dict
from leadrelay.domain.decision import Decision, Status
from leadrelay.observe.routing import observed_batch, observed_route
from leadrelay.pipeline.decide import decide
from leadrelay.workflow.assign import RouteResult

TARGET_US = 2.0
DEFAULT_CALLS = 200_000


def run(n_calls: int | None = None, repeat: int = 3) -> list[Result]:
    n = n_calls or DEFAULT_CALLS
    at = datetime(2026, 11, 25, 14, tzinfo=UTC)
    routes = ("enterprise", "airlines", "emea", "rest")
    results = [
        RouteResult(i + 1, Decision(f"k{i}", Status.ASSIGNED, "r", at, 1, owner="ana",
                                    route=routes[i % 4]), created=True)
        for i in range(1_000)
    ]  # fmt: skip

    def bare(engine: object, lead: object, policy: object) -> RouteResult:
        return results[0]

    wrapped = observed_route(bare)

    def plain_calls() -> None:
        for _ in range(n):
            bare(None, None, None)

    def observed_calls() -> None:
        for _ in range(n):
            wrapped(None, None, None)

    base = median_seconds(plain_calls, repeat)
    live = median_seconds(observed_calls, repeat)
    live_us = max(0.0, live.seconds - base.seconds) * 1e6 / n

    batch = observed_batch(lambda engine, leads, policy, **kw: results)
    batches = n // len(results)

    def batch_calls() -> None:
        for _ in range(batches):
            batch(None, None, None)

    bulk = median_seconds(batch_calls, repeat)
    bulk_us = bulk.seconds * 1e6 / (batches * len(results))

    org = build_org()
    policy = load_policy(policy_dict(), org)
    leads = make_leads(2_000)
    snapshot = org.snapshot(leads[0].received_at)

    def decide_all() -> None:
        for lead in leads:
            snapshot.now = lead.received_at
            decide(lead, snapshot, policy)

    decided = median_seconds(decide_all, repeat)
    decide_us = decided.seconds * 1e6 / len(leads)
    say(
        f"[bold]observe[/]: {n:,} live calls, {batches:,} batches of {len(results):,}; logging off;"
        f" median of {repeat}"
    )
    say(f"  live routing, per lead: {live_us:.2f} us ({live.describe()})")
    say(f"  bulk routing, per lead: {bulk_us:.2f} us ({bulk.describe()})")
    say(f"  one decide on the bench policy: {decide_us:.1f} us")
    return [
        Result("observe: live, per lead", live_us, "us", decide_us, "decide",
               f"< {TARGET_US:g} us", live_us < TARGET_US),
        Result("observe: bulk, per lead", bulk_us, "us", decide_us, "decide",
               f"< {TARGET_US:g} us", bulk_us < TARGET_US),
    ]  # fmt: skip
