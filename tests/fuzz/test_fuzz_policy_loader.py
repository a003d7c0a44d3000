"""The policy loader on whatever it is handed: any text, YAML-shaped token soup, and a valid
policy with one part deleted, replaced or retyped. It compiles, or raises ``PolicyError`` whose
every problem says what is wrong; never any other exception."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.fuzz.fuzz_files import json_values

from leadrelay.errors import LeadRelayError, PolicyError
from leadrelay.policy import load_policy_text

REPS = {"ana", "bo", "chen", "dee"}
TEAMS = {"enterprise", "sdr", "inbound"}
VALID = """\
version: 1
fields: {seats: integer, plan: string}
screening:
  reject:
    - {name: not-served, when: 'country != null and country not in ["US", "CA", "GB"]'}
  score:
    - {name: big, when: 'employees != null and employees >= 1000', points: 30}
    - {name: referral, when: 'source == "referral"', points: 20}
  value_slabs: {high: 50000, medium: 10000}
  priority: {high: 'score >= 60 or value_slab == "high"', medium: 'score >= 30'}
matching:
  duplicates: {keys: [email, phone], window_days: 90}
  accounts: {keys: [domain], fuzzy_name: 90}
  existing_account: account_owner
capacity:
  default: {per_day: 20, per_month: 50}
notifications:
  email: true
  webhooks: [{name: crm, url: 'https://crm.example/hook', secret_env: CRM_KEY}]
routes:
  - name: enterprise
    when: 'value_slab == "high"'
    to: {team: enterprise}
    strategy: {name: best_match, weights: {expertise: 0.4, performance: 0.4, proximity: 0.2}}
    sla: {accept_within: 2h, contact_within: 1d, escalate_to: manager}
  - name: airlines
    when: 'industry == "airline"'
    to: {reps: [ana, bo, chen]}
    strategy: round_robin
  - name: inbound-pool
    to: {pool: inbound, team: sdr}
    strategy: claim
    sla: {claim_within: 2h, then: {team: sdr, strategy: round_robin}}
experiments:
  - {name: pilot, share: 0.2, route: {to: {team: sdr}, strategy: least_loaded}}
"""
FUZZ = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def check(text: str, base_dir: Path | None = None) -> None:
    """Loading ``text`` succeeds or fails cleanly, naming each problem."""
    try:
        load_policy_text(text, reps=REPS, teams=TEAMS, base_dir=base_dir)
    except PolicyError as exc:
        assert exc.problems, "a PolicyError with no problem in it"
        for problem in exc.problems:
            assert problem.message.strip(), f"a problem without a message: {problem!r}"
        str(exc)  # renders
    except LeadRelayError as exc:  # pragma: no cover - the loader raises PolicyError only
        raise AssertionError(f"not a PolicyError: {exc!r}") from exc


def test_the_valid_policy_loads() -> None:
    compiled = load_policy_text(VALID, reps=REPS, teams=TEAMS)
    assert [r.name for r in compiled.routes] == ["enterprise", "airlines", "inbound-pool"]


@FUZZ
@given(st.text(max_size=300))
def test_any_text_loads_or_fails_cleanly(text: str) -> None:
    check(text)


TOKENS = (
    "version: 1\n", "routes:\n", "  - ", "name: ", "when: ", "to: ", "strategy: ", "{", "}",
    "[", "]", ", ", ": ", "\n", "  ", "'", '"', "&a ", "*a", "!!python/object ", "<<: *a",
    "round_robin", "team: ", "reps: ", "ana", "ghost", "value_slab == \"high\"", "employees >",
    "score >= ", "1e400", "-1", "null", "~", "true", "sla: ", "accept_within: ", "2h", "-5m",
    "screening:\n", "reject:\n", "capacity:\n", "default: ", "per_day: ", "experiments:\n",
    "share: ", "1.5", "fields: ", "integer", "#", "---\n", "...\n", "\t", "\x00", "%YAML 1.1\n",
)  # fmt: skip


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_yaml_shaped_soup_loads_or_fails_cleanly(text: str) -> None:
    check(text)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a parsed policy: mapping keys and list positions, all depths."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


PARSED = yaml.safe_load(VALID)
PLACES = _paths(PARSED)
NEAR_MISSES = [
    "ghost", "", "round_robin", "team", "1h", "-1h", "value_slab = 'x'", "employees > 'a'",
    "unknown_field == 1", 0, -1, 1e308, True, None,
]  # fmt: skip
REPLACEMENTS = st.one_of(json_values, st.sampled_from(NEAR_MISSES))


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(PLACES), st.sampled_from(["delete", "replace"]), REPLACEMENTS),
        min_size=1,
        max_size=4,
    )
)
def test_a_mutated_valid_policy_loads_or_fails_cleanly(
    mutations: list[tuple[tuple[Any, ...], str, Any]],
) -> None:
    data = copy.deepcopy(PARSED)
    for place, how, value in mutations:
        parent: Any = data
        try:
            for step in place[:-1]:
                parent = parent[step]
            if how == "delete":
                del parent[place[-1]]
            else:
                parent[place[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or retyped this place
    check(yaml.safe_dump(data, allow_unicode=True))
