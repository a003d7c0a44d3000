"""Load a policy file: YAML text -> checked model -> ``CompiledPolicy``, all or nothing.

Every problem found is reported at once, each with its line and dotted field path. Parts that
fail the shape check are left out of the later checks (conditions, strategies, names) so one
typo does not hide the problems elsewhere in the file.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from leadrelay.domain.lead import LEAD_FIELDS
from leadrelay.domain.rep import Caps
from leadrelay.errors import LeadRelayError, PolicyError, Problem, did_you_mean
from leadrelay.policy.compiled import (
    CompiledExperiment,
    CompiledPolicy,
    CompiledRoute,
    CompiledSla,
    Target,
)
from leadrelay.policy.conditions import SCREENING_FIELDS, Condition, ConditionError, symbol_types
from leadrelay.policy.schema import (
    FIELD_TYPES,
    ExperimentModel,
    PolicyModel,
    RejectRule,
    RouteModel,
    ScoreRule,
    SlaThenModel,
    StrategyModel,
    TargetModel,
)

if TYPE_CHECKING:
    from leadrelay.pipeline.strategies.base import Strategy
    from leadrelay.scoring.model import LeadModel

Loc = tuple[str | int, ...]
_M = TypeVar("_M", bound=BaseModel)
_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TARGET_REPS = ("rep", "reps", "owner")
_TARGET_TEAMS = ("team", "teams")
SLA_ESCALATE_ROLES = ("team_owner", "manager")
# What each kind of condition may read: screening results exist only after their step.
_SCOPE_HIDES = {
    "reject": frozenset(SCREENING_FIELDS),
    "score": frozenset(SCREENING_FIELDS),
    "priority": frozenset({"priority"}),
    "route": frozenset(),
    "experiment": frozenset(),
}


def load_policy(
    path: str | os.PathLike[str],
    *,
    reps: Collection[str] | None = None,
    teams: Collection[str] | None = None,
) -> CompiledPolicy:
    """Load the policy file at ``path``; problems name the path as their source."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(Problem("the policy file is not UTF-8 text", source=source)) from exc
    except OSError as exc:
        raise PolicyError(
            Problem(f"cannot read the policy: {exc.strerror}", source=source)
        ) from exc
    return load_policy_text(text, source, reps=reps, teams=teams, base_dir=Path(path).parent)


def load_policy_text(
    text: str,
    source: str = "<policy>",
    *,
    reps: Collection[str] | None = None,
    teams: Collection[str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> CompiledPolicy:
    """Check and compile a policy; raise ``PolicyError`` with every problem, return nothing partial.

    Rep and team ids are checked only when ``reps`` / ``teams`` are given, so a policy can be
    checked before the org is loaded. A relative ``screening.score_model.path`` is taken from
    ``base_dir`` (the policy file's folder), else from the working directory.
    """
    data, report = _read_yaml(text, source)
    try:
        model: PolicyModel | None = PolicyModel.model_validate(data)
        shape_errors: list[ErrorDetails] = []
    except ValidationError as exc:
        model, shape_errors = None, exc.errors()
    parts = _Parts.of(model) if model is not None else _Parts.salvage(data)
    renamed = _check_unique_names(parts, report)
    for error in shape_errors:
        # PolicyModel's own duplicate-route check has no location; ours has one
        if not (renamed and error["loc"] == () and error["type"] == "value_error"):
            report.pydantic(error, PolicyModel, ())
    compiled = _Compiler(report, parts, reps, teams, base_dir).compile()
    if report.problems:
        raise PolicyError(sorted(report.problems, key=_file_order))
    assert model is not None
    return _assemble(model, compiled, text)


# YAML ----------------------------------------------------------------------------------------


def _read_yaml(text: str, source: str) -> tuple[dict[str, Any], _Report]:
    report = _Report(source)
    try:
        # the reader checks the text as it is built: a control character raises here already
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise PolicyError(Problem(f"not valid YAML: {exc}", source=source)) from exc
    try:
        node = loader.get_single_node()
        if node is not None:
            _index(node, (), report, frozenset())
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise PolicyError(_syntax_problem(exc, source)) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(Problem(f"not valid YAML: {exc}", source=source)) from exc
    finally:
        loader.dispose()
    if data is None:
        raise PolicyError(
            Problem("the policy is empty; it needs at least 'routes:'", source=source)
        )
    if not isinstance(data, dict):
        raise PolicyError(
            Problem(
                "the policy must be a mapping of keys (version, screening, routes, ...), "
                f"not {'a list' if isinstance(data, list) else 'a single value'}",
                source=source,
                line=report.lines.get(()),
            )
        )
    return data, report


def _syntax_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    what = "; ".join(part for part in (exc.context, exc.problem) if part)
    return Problem(
        f"YAML syntax: {what or 'cannot parse'}",
        source=source,
        line=mark.line + 1 if mark is not None else None,
    )


def _index(node: yaml.Node, loc: Loc, report: _Report, parents: frozenset[int]) -> None:
    """Record the line of every key and item, and report duplicate keys (YAML keeps the last)."""
    report.lines.setdefault(loc, node.start_mark.line + 1)
    if id(node) in parents:  # a recursive alias
        return
    parents = parents | {id(node)}
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            child, line = (*loc, key_node.value), key_node.start_mark.line + 1
            key = (key_node.tag, key_node.value)
            if key in first:
                report.forget(child)  # YAML keeps the last value: later problems point there
            report.lines[child] = line
            if key in first:
                report.add(f"duplicate key {key_node.value!r} (first on line {first[key]})", child)
            first.setdefault(key, line)
            _index(value_node, child, report, parents)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            report.lines[(*loc, position)] = item.start_mark.line + 1
            _index(item, (*loc, position), report, parents)


# Problems ------------------------------------------------------------------------------------


@dataclass
class _Report:
    source: str
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, loc: Loc, suggestion: str | None = None) -> None:
        self.problems.append(
            Problem(
                message,
                source=self.source,
                line=self.line(loc),
                field=_dotted(loc) or None,
                suggestion=suggestion,
            )
        )

    def line(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest ancestor the file spells out."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None

    def forget(self, loc: Loc) -> None:
        for known in [k for k in self.lines if k[: len(loc)] == loc]:
            del self.lines[known]

    def pydantic(
        self, error: ErrorDetails, root: type[BaseModel], prefix: Loc, owner: str = ""
    ) -> None:
        loc = (*prefix, *error["loc"])
        kind, message, suggestion = error["type"], _sentence(error["msg"]), None
        if kind == "extra_forbidden":
            key = str(loc[-1])
            model = _model_at(root, tuple(error["loc"][:-1]))
            names = list(model.model_fields) if model is not None else []
            message = f"unknown key {key!r}{owner}"
            if not names and owner:
                message += "; it takes no parameters"
            suggestion = did_you_mean(key, names)
        elif kind == "missing":
            message = f"missing required key {loc[-1]!r}{owner}"
        elif kind == "too_short":
            message = f"needs at least {error.get('ctx', {}).get('min_length', 1)} entry"
        elif kind == "value_error":
            message = message.removeprefix("value error, ")
        elif kind == "literal_error":
            choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
            message += f", not {error['input']!r}"
            suggestion = did_you_mean(str(error["input"]), choices)
        elif _is_scalar(error["input"]):
            message += f", not {error['input']!r}"
        if error["loc"][-1:] == ("[key]",):
            message = f"key: {message}"
        self.add(message, loc, suggestion)


def _file_order(problem: Problem) -> tuple[bool, int]:
    return problem.line is None, problem.line or 0


def _sentence(message: str) -> str:
    return message[:1].lower() + message[1:]


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        if part != "[key]":  # pydantic's marker for a mapping's key, not a path step
            text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` below ``root``."""
    current: Any = root
    for part in loc:
        current = _child_type(_optional_of(current), part)
        if current is None:
            return None
    current = _optional_of(current)
    return current if _is_model(current) else None


def _child_type(annotation: Any, part: str | int) -> Any:
    if _is_model(annotation):
        found = annotation.model_fields.get(part) if isinstance(part, str) else None
        return None if found is None else found.annotation
    args = get_args(annotation)
    if get_origin(annotation) is list and isinstance(part, int):
        return args[0]
    if get_origin(annotation) is dict:
        return args[1]
    return None


def _optional_of(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


# The parts later checks look at ---------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    """The policy's pieces that passed the shape check, each with its index or key."""

    fields: dict[str, str]
    broken_fields: frozenset[str]  # declared with a bad type: already reported, not unknown
    reject: list[tuple[int, RejectRule]]
    score: list[tuple[int, ScoreRule]]
    priority: list[tuple[str, str]]
    routes: list[tuple[int, RouteModel]]
    experiments: list[tuple[int, ExperimentModel]]
    score_model: tuple[str | None, str] | None = None  # (model path if valid, field)

    @classmethod
    def of(cls, model: PolicyModel) -> _Parts:
        screening = model.screening
        ref = screening.score_model
        return cls(
            fields=dict(model.fields),
            broken_fields=frozenset(),
            reject=list(enumerate(screening.reject)),
            score=list(enumerate(screening.score)),
            priority=list(screening.priority.items()),
            routes=list(enumerate(model.routes)),
            experiments=list(enumerate(model.experiments)),
            score_model=None if ref is None else (ref.path, ref.field),
        )

    @classmethod
    def salvage(cls, data: Mapping[str, Any]) -> _Parts:
        screening = _mapping(data.get("screening"))
        return cls(
            fields={
                k: v
                for k, v in _mapping(data.get("fields")).items()
                if isinstance(k, str) and v in FIELD_TYPES
            },
            broken_fields=frozenset(
                k for k, v in _mapping(data.get("fields")).items() if v not in FIELD_TYPES
            ),
            reject=_valid_items(RejectRule, screening.get("reject")),
            score=_valid_items(ScoreRule, screening.get("score")),
            priority=[
                (k, v)
                for k, v in _mapping(screening.get("priority")).items()
                if isinstance(k, str) and isinstance(v, str)
            ],
            routes=_valid_items(RouteModel, data.get("routes")),
            experiments=_valid_items(ExperimentModel, data.get("experiments")),
            score_model=_salvage_score_model(screening),
        )


def _salvage_score_model(screening: Mapping[str, Any]) -> tuple[str | None, str] | None:
    """The model's field stays known when its entry is broken: no "unknown field" echoes."""
    if "score_model" not in screening:
        return None
    ref = _mapping(screening["score_model"])
    path, name = ref.get("path"), ref.get("field", "model_score")
    return (path if isinstance(path, str) and path else None, str(name))


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _valid_items(model: type[_M], items: Any) -> list[tuple[int, _M]]:
    valid: list[tuple[int, _M]] = []
    for position, item in enumerate(items if isinstance(items, list) else []):
        try:
            valid.append((position, model.model_validate(item)))
        except ValidationError:
            continue  # already reported by the whole-policy check
    return valid


def _check_unique_names(parts: _Parts, report: _Report) -> bool:
    """Report a route or experiment named like an earlier one; True if a route was."""
    renamed = False
    for kind, named in (("routes", parts.routes), ("experiments", parts.experiments)):
        seen: set[str] = set()
        for position, part in named:
            if part.name in seen:
                report.add(f"two {kind} are named {part.name!r}", (kind, position, "name"))
                renamed = renamed or kind == "routes"
            seen.add(part.name)
    return renamed


# Conditions, strategies, names ----------------------------------------------------------------


@dataclass
class _Compiled:
    reject: list[tuple[str, Condition]] = field(default_factory=list)
    score: list[tuple[str, Condition, float]] = field(default_factory=list)
    priority: list[tuple[str, Condition]] = field(default_factory=list)
    routes: list[CompiledRoute] = field(default_factory=list)
    experiments: list[CompiledExperiment] = field(default_factory=list)
    score_model: LeadModel | None = None


class _Compiler:
    def __init__(
        self,
        report: _Report,
        parts: _Parts,
        reps: Collection[str] | None,
        teams: Collection[str] | None,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.report = report
        self.parts = parts
        self.base_dir = base_dir
        custom = self._custom_fields(parts.fields)
        if parts.score_model is not None and self._score_field(parts.score_model[1], custom):
            custom[parts.score_model[1]] = "number"  # set by screening before any rule runs
        types = symbol_types(custom)
        self.scopes = {
            kind: {name: t for name, t in types.items() if name not in hidden}
            for kind, hidden in _SCOPE_HIDES.items()
        }
        self.broken_fields = parts.broken_fields
        self.reps = None if reps is None else frozenset(reps)
        self.teams = None if teams is None else frozenset(teams)
        self.strategies = _strategies()

    def compile(self) -> _Compiled:
        parts, out = self.parts, _Compiled()
        for i, rule in parts.reject:
            when = self.condition(rule.when, ("screening", "reject", i, "when"), "reject")
            if when is not None:
                out.reject.append((rule.name, when))
        for i, score in parts.score:
            when = self.condition(score.when, ("screening", "score", i, "when"), "score")
            if when is not None:
                out.score.append((score.name or score.when, when, score.points))
        for name, text in parts.priority:
            when = self.condition(text, ("screening", "priority", name), "priority")
            if when is not None:
                out.priority.append((name, when))
        out.routes = [r for i, route in parts.routes if (r := self.route(i, route)) is not None]
        out.experiments = [
            e for i, exp in parts.experiments if (e := self.experiment(i, exp)) is not None
        ]
        self.check_shares(parts.experiments)
        out.score_model = self.score_model()
        return out

    def _score_field(self, name: str, declared: Mapping[str, str]) -> bool:
        taken = LEAD_FIELDS.keys() | SCREENING_FIELDS.keys() | declared.keys()
        loc: Loc = ("screening", "score_model", "field")
        if name in taken:
            self.report.add(f"{name!r} is already a lead or screening field; choose another", loc)
        elif not _SYMBOL.fullmatch(name):
            self.report.add(f"field name {name!r} cannot be used in conditions", loc)
        else:
            return True
        return False

    def score_model(self) -> LeadModel | None:
        """Load the policy's model once; a file that does not load is a policy problem."""
        if self.parts.score_model is None or self.parts.score_model[0] is None:
            return None
        from leadrelay.scoring.model import load_model

        path = Path(self.parts.score_model[0]).expanduser()
        if not path.is_absolute() and self.base_dir is not None:
            path = Path(self.base_dir) / path
        try:
            return load_model(path)
        except LeadRelayError as exc:
            for problem in exc.problems:
                where = ("screening", "score_model", "path")
                self.report.add(f"model {str(path)!r}: {problem.message}", where)
            return None

    def _custom_fields(self, fields: Mapping[str, str]) -> dict[str, str]:
        usable: dict[str, str] = {}
        for name, kind in fields.items():
            if name in LEAD_FIELDS:
                self.report.add(
                    f"{name!r} is a standard lead field; declare only custom fields",
                    ("fields", name),
                )
            elif name in SCREENING_FIELDS:
                self.report.add(
                    f"{name!r} is set by screening; choose another name", ("fields", name)
                )
            elif not _SYMBOL.fullmatch(name):
                self.report.add(
                    f"field name {name!r} cannot be used in conditions; use letters, digits and _",
                    ("fields", name),
                )
            else:
                usable[name] = kind
        return usable

    def condition(self, text: str, loc: Loc, kind: str) -> Condition | None:
        try:
            return Condition(text, self.scopes[kind])
        except ConditionError as exc:
            if exc.symbol in self.broken_fields:
                return None
            if exc.symbol in _SCOPE_HIDES[kind]:
                message = f"{exc.symbol!r} is not known yet when {kind} conditions run"
                self.report.add(message, loc)
            else:
                self.report.add(str(exc), loc, exc.suggestion)
            return None

    def route(self, i: int, route: RouteModel) -> CompiledRoute | None:
        loc: Loc = ("routes", i)
        when = None if route.when is None else self.condition(route.when, (*loc, "when"), "route")
        strategy = self.strategy(route.strategy, (*loc, "strategy"))
        target = self.target(route.to, (*loc, "to"))
        sla = self.check_sla(route, (*loc, "sla"))
        if strategy is None or (route.when is not None and when is None):
            return None
        name, params = strategy
        return CompiledRoute(
            name=route.name,
            when=when,
            target=target,
            strategy=name,
            params=params,
            off_hours=route.off_hours,
            sla=sla,
            line=self.report.line(loc),
        )

    def experiment(self, i: int, experiment: ExperimentModel) -> CompiledExperiment | None:
        loc: Loc = ("experiments", i)
        when = (
            None
            if experiment.when is None
            else self.condition(experiment.when, (*loc, "when"), "experiment")
        )
        route = experiment.route
        strategy = self.strategy(route.strategy, (*loc, "route", "strategy"))
        target = self.target(route.to, (*loc, "route", "to"))
        if strategy is None or (experiment.when is not None and when is None):
            return None
        name, params = strategy
        compiled = CompiledRoute(
            name=f"experiment:{experiment.name}",
            when=None,
            target=target,
            strategy=name,
            params=params,
            off_hours=route.off_hours,
            line=self.report.line((*loc, "route")),
        )
        return CompiledExperiment(experiment.name, experiment.share, when, compiled)

    def strategy(self, model: StrategyModel, loc: Loc) -> tuple[str, BaseModel] | None:
        known = self.strategy_named(model.name, (*loc, "name"))
        if known is None:
            return None
        try:
            return model.name, known.Params.model_validate(model.params)
        except ValidationError as exc:
            for error in exc.errors():
                self.report.pydantic(error, known.Params, loc, f" for strategy {model.name!r}")
            return None

    def strategy_named(self, name: str, loc: Loc) -> Strategy | None:
        known = self.strategies.get(name)
        if known is None:
            suggestion = did_you_mean(name, self.strategies)
            listing = "" if suggestion else f" (known: {', '.join(sorted(self.strategies))})"
            self.report.add(f"unknown strategy {name!r}{listing}", loc, suggestion)
        return known

    def target(self, to: TargetModel, loc: Loc) -> Target:
        self.check_names(to.model_dump(), loc)
        return Target(
            rep=to.rep,
            reps=tuple(to.reps or ()),
            team=to.team,
            teams=tuple(to.teams or ()),
            pool=to.pool,
            owner=to.owner,
            manual=to.manual,
        )

    def check_names(self, given: Mapping[str, Any], loc: Loc) -> None:
        for key, known, kind in (
            *((k, self.reps, "rep") for k in _TARGET_REPS),
            *((k, self.teams, "team") for k in _TARGET_TEAMS),
        ):
            value = given.get(key)
            if known is None or value is None:
                continue
            if isinstance(value, str):
                self.check_name(value, known, kind, (*loc, key))
            elif isinstance(value, list):
                for j, item in enumerate(value):
                    self.check_name(str(item), known, kind, (*loc, key, j))

    def check_name(self, name: str, known: frozenset[str], kind: str, loc: Loc) -> None:
        if name not in known:
            self.report.add(f"unknown {kind} {name!r}", loc, did_you_mean(name, known))

    def check_sla(self, route: RouteModel, loc: Loc) -> CompiledSla | None:
        """A route's deadlines: each fits the route's strategy, ``then`` names a known target
        and strategy, ``escalate_to`` a known rep (or team_owner, manager)."""
        sla = route.sla
        if sla is None:
            return None
        kind = route.strategy.name
        for deadline, needs in (("claim_within", "claim"), ("handoff_within", "team")):
            if getattr(sla, deadline) is not None and kind != needs:
                self.report.add(
                    f"{deadline} applies to '{needs}' routes only (this one is {kind!r})",
                    (*loc, deadline),
                )
        escalate = sla.escalate_to
        if escalate is not None and escalate not in SLA_ESCALATE_ROLES and self.reps is not None:
            self.check_name(escalate, self.reps, "rep", (*loc, "escalate_to"))
        fallback = None
        action = sla.then if isinstance(sla.then, str) else "route"
        if isinstance(sla.then, SlaThenModel):
            then = sla.then
            self.check_names(then.model_dump(), (*loc, "then"))
            strategy = self.strategy(then.strategy, (*loc, "then", "strategy"))
            if strategy is None:
                return None
            fallback = CompiledRoute(
                name=f"{route.name}:then",
                when=None,
                target=Target(
                    rep=then.rep, reps=tuple(then.reps or ()), team=then.team,
                    teams=tuple(then.teams or ()),
                ),
                strategy=strategy[0],
                params=strategy[1],
                off_hours=route.off_hours,
                line=self.report.line((*loc, "then")),
            )  # fmt: skip
        return CompiledSla(
            model=sla,
            deadlines=sla.deadlines(),
            business_hours=sla.business_hours,
            action=action,
            fallback=fallback,
            escalate_to=escalate,
        )

    def check_shares(self, experiments: list[tuple[int, ExperimentModel]]) -> None:
        total = sum(experiment.share for _, experiment in experiments)
        if total >= 1:
            self.report.add(
                f"experiment shares add up to {total:g}; together they must stay below 1",
                ("experiments",),
            )


def _strategies() -> Mapping[str, Strategy]:
    # Imported here: strategies import the compiled policy types, which import this package.
    from leadrelay.pipeline.strategies.registry import STRATEGIES

    return STRATEGIES


def _assemble(model: PolicyModel, compiled: _Compiled, text: str) -> CompiledPolicy:
    caps = model.capacity.default
    slabs = sorted(model.screening.value_slabs.items(), key=lambda slab: -slab[1])
    return CompiledPolicy(
        model=model,
        reject=tuple(compiled.reject),
        score=tuple(compiled.score),
        value_slabs=tuple(slabs),
        priority=tuple(compiled.priority),
        routes=tuple(compiled.routes),
        experiments=tuple(compiled.experiments),
        default_caps=Caps(per_day=caps.per_day, per_week=caps.per_week, per_month=caps.per_month),
        existing_account_owner=model.matching.existing_account == "account_owner",
        score_model=compiled.score_model,
        score_field=ref.field if (ref := model.screening.score_model) else "model_score",
        text=text,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
