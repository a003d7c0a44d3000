"""A stored Decision in words a rep understands: the CLI, the demo and (later) pages use this."""

from __future__ import annotations

from collections import Counter

from leadrelay.domain.decision import Decision, RouteTrial, Screening, Status

_HEADLINES = {
    Status.ASSIGNED: "assigned to {owner}",
    Status.TEAM: "held by team {team} (accountable: {owner})",
    Status.POOL: "open in pool {pool}",
    Status.MANUAL: "waiting in the manager queue",
    Status.SCREENED_OUT: "screened out",
    Status.DUPLICATE: "a duplicate of lead {duplicate_of}",
}


def headline(decision: Decision) -> str:
    text = _HEADLINES[decision.status].format(
        owner=decision.owner, team=decision.team, pool=decision.pool,
        duplicate_of=decision.duplicate_of,
    )  # fmt: skip
    if decision.route:
        text += f" by route {decision.route!r} ({decision.strategy})"
    return f"{text}, policy version {decision.policy_version}"


def explain_lines(
    decision: Decision, *, skipped_routes: bool = False, max_candidates: int | None = None
) -> list[str]:
    """The decision trace, top to bottom, one line per fact; indented lines are details.

    ``max_candidates`` shortens long candidate lists: the chosen rep and the first few are
    shown, the rest summarised by reason.
    """
    lines = [headline(decision), f"Why: {decision.reason}", _screening_line(decision.screening)]
    if decision.account:
        lines.append(f"Existing account: {decision.account} (matched by {decision.account_match})")
    if decision.experiment:
        lines.append(f"Experiment {decision.experiment}: {decision.arm} arm")
    if decision.trials:
        lines.append("Routes looked at, in order:")
    for number, trial in enumerate(decision.trials, 1):
        if not trial.matched and not skipped_routes:
            continue
        lines.extend(_trial_lines(number, trial, decision, max_candidates))
    hidden = sum(1 for t in decision.trials if not t.matched)
    if hidden and not skipped_routes:
        lines.append(f"  ({hidden} route(s) whose condition did not hold are not shown)")
    return lines


def _screening_line(screening: Screening) -> str:
    if screening.rejected_by:
        return f"Screening: rejected by rule {screening.rejected_by!r}"
    scored = [s for s in screening.steps if s.kind == "score" and s.matched]
    points = ", ".join(f"{s.rule} +{s.points:g}" for s in scored) or "no score rule matched"
    unknown = [s.rule for s in screening.steps if s.note.startswith("could not")]
    text = (
        f"Screening: score {screening.score:g} ({points}); value slab {screening.value_slab};"
        f" priority {screening.priority}"
    )
    if unknown:
        text += f"; could not evaluate (empty field): {', '.join(unknown)}"
    model = next((s for s in screening.steps if s.kind == "model"), None)
    if model is not None:
        text += f"; {model.rule} {model.note}"
    return text


def _trial_lines(
    number: int, trial: RouteTrial, decision: Decision, limit: int | None
) -> list[str]:
    chosen = trial.route == decision.route and trial.matched
    if not trial.matched:
        return [f"  {number}. {trial.route}: skipped, {trial.outcome}"]
    mark = "took the lead" if chosen else "passed"
    lines = [f"  {number}. {trial.route} [{trial.strategy}] {mark}: {trial.outcome}"]
    shown = list(trial.candidates)
    hidden: list[str] = []
    if limit is not None and len(shown) > limit:
        keep = {c.rep for c in shown[:limit]} | ({decision.owner} if chosen else set())
        hidden = [_kind(c.excluded) for c in shown if c.rep not in keep]
        shown = [c for c in shown if c.rep in keep]
    for candidate in shown:
        if candidate.excluded:
            lines.append(f"       - {candidate.rep}: not eligible, {candidate.excluded}")
            continue
        picked = chosen and candidate.rep == decision.owner
        detail = candidate.note or (f"score {candidate.score:g}" if candidate.score else "")
        if candidate.factors:
            detail += " (" + ", ".join(f"{k} {v:.2f}" for k, v in candidate.factors.items()) + ")"
        lines.append(f"       {'*' if picked else '+'} {candidate.rep}: {detail or 'eligible'}")
    if hidden:
        summary = ", ".join(f"{count} {kind}" for kind, count in Counter(hidden).most_common())
        lines.append(f"       ... and {len(hidden)} more: {summary}")
    return lines


def _kind(excluded: str | None) -> str:
    """The kind of a reason without its details: 'outside working hours (...)' -> first part."""
    return "eligible" if excluded is None else excluded.split(" (", 1)[0]
