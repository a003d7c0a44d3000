"""Bulk routing of a CSV file, as ``leadrelay route LEADS.csv --out FILE`` does it.

A leads.csv of N leads (default 100,000; ``--full``: 1,000,000) is written to a temp dir, then
timed end to end and by phase: ``read_leads`` (parse and check the file), ``route_many`` (decide
every lead on one snapshot advanced in memory, write leads and decisions in batches, one
transaction) into a fresh SQLite store holding the benchmark org, and ``write_assignments``
(the --out file). One pass: at these sizes a pass is not cheap. The baseline is the raw
``executemany`` rate (1000 rows per transaction, ``bench.raw``) measured in the same run.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

from bench import raw, sql_floor
from bench.common import Result, rate, say, scratch_dir
from bench.live import STORE_FILE, fresh_store
from bench.org import Org, build_org, load_policy, policy_dict, write_leads_csv
from leadrelay.domain import Lead
from leadrelay.policy.compiled import CompiledPolicy

DEFAULT_LEADS = 100_000
FULL_LEADS = 1_000_000
TARGET_LEADS, TARGET_SECONDS = 1_000_000, 30.0


def run(n_leads: int | None = None, repeat: int = 3, *, full: bool = False) -> list[Result]:
    from leadrelay.files import AssignmentRow, read_leads, write_assignments
    from leadrelay.workflow import route_many

    n = FULL_LEADS if full else n_leads or DEFAULT_LEADS
    org = build_org()
    policy = load_policy(policy_dict(), org)
    say(
        f"[bold]bulk[/]: {n:,}-lead CSV -> read_leads -> route_many (SQLite, one transaction)"
        f" -> write_assignments; one pass"
    )
    baseline = raw.executemany_rate(raw.BATCH_ROWS, repeat)
    phases: dict[str, float] = {}
    with scratch_dir("bulk") as tmp:
        csv_path, out_path = tmp / "leads.csv", tmp / "assignments.csv"
        start = time.perf_counter()
        write_leads_csv(csv_path, n)
        say(
            f"  (setup: wrote {csv_path.stat().st_size / 1e6:,.0f} MB of CSV"
            f" in {time.perf_counter() - start:.1f} s, untimed)"
        )
        engine, policy = fresh_store(tmp, org, policy)
        cpu_start = time.process_time()
        try:
            start = time.perf_counter()
            leads = read_leads(csv_path, now=datetime.now(UTC))
            phases["read_leads"] = time.perf_counter() - start

            start = time.perf_counter()
            results = route_many(engine, leads, policy, keep_trials=False)  # as `route` does
            phases["route_many"] = time.perf_counter() - start

            start = time.perf_counter()
            write_assignments(
                out_path,
                (
                    AssignmentRow.of(lead.external_id, result.lead_id, result.decision)
                    for lead, result in zip(leads, results, strict=True)
                ),
            )
            phases["write_assignments"] = time.perf_counter() - start
        finally:
            engine.dispose()
        cpu = time.process_time() - cpu_start
    total = sum(phases.values())
    per_s = rate(n, total)
    for phase, seconds in phases.items():
        say(f"  {phase}: {seconds:.2f} s ({rate(n, seconds):,.0f} leads/s)")
    say(f"  end to end: {total:.2f} s ({per_s:,.0f} leads/s; CPU {cpu / total:.0%} of wall)")
    if resource is not None:  # ru_maxrss is in KiB on Linux
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        say(f"  peak memory of this process so far: {peak:,.0f} MiB")
    floor = _sql_floor(org, policy, leads)
    say(
        f"  route_many's SQL replayed raw (bench.sql_floor; recorded in a second pass):"
        f" {n / floor:,.0f} leads/s ({floor:.2f} s; {floor / phases['route_many']:.0%} of"
        f" route_many's time); 1M leads: {floor * TARGET_LEADS / n:.0f} s of the"
        f" {TARGET_SECONDS:g} s target before any lead is read or decided"
    )

    projected = TARGET_LEADS / per_s
    label = "bulk 1M leads" if n == TARGET_LEADS else f"bulk 1M leads, projected from {n:,}"
    results_out = [
        Result(
            f"bulk end to end ({n:,})",
            per_s,
            "leads/s",
            baseline=baseline,
            baseline_name="raw executemany x1000",
        ),
        Result(
            label,
            projected,
            "s",
            target=f"< {TARGET_SECONDS:g} s",
            met=projected < TARGET_SECONDS,
        ),
    ]
    results_out += [
        Result(f"bulk phase {phase}", rate(n, seconds), "leads/s")
        for phase, seconds in phases.items()
    ]
    results_out.append(
        Result(
            "bulk: route_many's SQL alone, raw",
            rate(n, floor),
            "leads/s",
            baseline=baseline,
            baseline_name="raw executemany x1000",
        )
    )
    return results_out


def _sql_floor(org: Org, policy: CompiledPolicy, leads: list[Lead]) -> float:
    """Seconds SQLite takes for the SQL of ``route_many(leads)``, replayed raw (checked to
    redo it exactly) from a second, recorded pass on a fresh store."""
    from leadrelay.workflow import route_many

    with scratch_dir("bulk-floor") as tmp:
        recorder = sql_floor.Recorder()
        engine, loaded = fresh_store(tmp, org, policy, connect_args=recorder.connect_args())
        made = recorder.record(
            engine,
            tmp / STORE_FILE,
            warm_up=lambda: None,
            work=lambda: route_many(engine, leads, loaded, keep_trials=False),
        )
        replayed = tmp / "replay" / STORE_FILE
        seconds = made.replay(replayed)
        made.check(replayed)
    return seconds
