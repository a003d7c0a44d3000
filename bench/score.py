"""The learned lead score: training on the bundled CRM data, and its cost per lead in ``decide``.

Trains on the 6,711 closed CRM opportunities (``scoring.examples.crm_outcomes``) and prints the
held-out AUC and Brier score (the data is fictional: expect chance-level AUC, and a calibrated
model that says "about the base rate" to everyone). Then, per lead: the fast path
(``LeadModel.probability``) beside scikit-learn's ``predict_proba`` on one row (the baseline) and
on a batch, and ``decide`` with and without ``screening.score_model`` in the policy.
"""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Result, median_seconds, say, scratch_dir
from leadrelay.domain import Lead, Rep, Snapshot
from leadrelay.pipeline.decide import decide
from leadrelay.policy import load_policy
from leadrelay.scoring import save_model, train_model
from leadrelay.scoring.examples import crm_outcomes

DEFAULT_LEADS = 20_000
SINGLE_ROWS = 300  # predict_proba one row at a time is slow: fewer rows
TARGET_US = 50.0  # the model's share of decide per lead
NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
POLICY = """\
screening:
{model}  priority: {{high: '{field} >= 0.64'}}
routes:
  - {{name: hot, when: 'priority == "high"', to: {{reps: [ana, bo]}}}}
  - {{name: rest, to: {{reps: [cy, di]}}}}
"""


def run(n_leads: int | None = None, repeat: int = 3) -> list[Result]:
    n = n_leads or DEFAULT_LEADS
    with scratch_dir("leadrelay-score-") as work:
        return _run(work, n, repeat)


def _run(work: Path, n: int, repeat: int) -> list[Result]:
    outcomes = work / "crm.csv"
    rows = crm_outcomes(outcomes)
    start = time.perf_counter()
    training = train_model(outcomes)
    seconds = time.perf_counter() - start
    model = save_model(training.model, work / "crm.model")
    info = model.info
    say(
        f"[bold]score[/]: trained on {rows:,} CRM outcomes in {seconds:.1f} s (incl. imports);"
        f" held-out AUC {info.auc:.3f}, Brier {info.brier:.4f} (base rate"
        f" {info.base_rate:.3f}: guessing it scores {info.base_rate * (1 - info.base_rate):.4f})"
    )
    with outcomes.open(encoding="utf-8", newline="") as handle:
        values = list(csv.DictReader(handle))
    values = [values[i % len(values)] for i in range(n)]

    fast = median_seconds(lambda: [model.probability(v) for v in values], repeat)
    single = median_seconds(lambda: [model.probabilities([v]) for v in values[:SINGLE_ROWS]], 1)
    batch = median_seconds(lambda: model.probabilities(values), repeat)
    fast_us = fast.seconds / n * 1e6
    single_us = single.seconds / SINGLE_ROWS * 1e6
    say(f"  fast path {fast_us:.1f} µs/lead; predict_proba one row {single_us:,.0f} µs;"
        f" predict_proba batch of {n:,} {batch.seconds / n * 1e6:.1f} µs/lead")  # fmt: skip

    leads = [_lead(v) for v in values]
    reps = {r: Rep(id=r, name=r) for r in ("ana", "bo", "cy", "di")}
    plain = _policy(work, "", "score")
    scored = _policy(work, "  score_model: {path: crm.model}\n", "model_score")
    timings = {}
    for name, policy in (("without", plain), ("with", scored)):
        snap = Snapshot(now=NOW, reps=reps)
        timings[name] = median_seconds(
            lambda p=policy, s=snap: [decide(x, s, p) for x in leads], repeat
        )
    per = {k: t.seconds / n * 1e6 for k, t in timings.items()}
    say(f"  decide {per['without']:.1f} µs/lead without a model, {per['with']:.1f} with one")
    return [
        Result("score: train CRM (6,711 rows)", seconds, "s"),
        Result("score: CRM held-out AUC", info.auc, "AUC"),
        Result("score: fast path per lead", fast_us, "µs", single_us, "predict_proba 1 row",
               f"<= {TARGET_US:.0f} µs", fast_us <= TARGET_US),
        Result("score: decide + model per lead", per["with"], "µs", per["without"],
               "decide, no model"),
    ]  # fmt: skip


def _policy(work: Path, model: str, field: str) -> object:
    path = work / f"policy-{field}.yaml"
    path.write_text(POLICY.format(model=model, field=field), encoding="utf-8")
    return load_policy(path)


def _lead(row: dict[str, str]) -> Lead:
    employees = row["employees"]
    return Lead(
        received_at=NOW,
        external_id=row["external_id"],
        company=row["company"],
        industry=row["industry"] or None,
        employees=int(employees) if employees else None,
        country=row["country"] or None,
        product=row["product"],
        attributes={k: row[k] for k in ("annual_revenue", "year_established", "subsidiary_of")},
    )
