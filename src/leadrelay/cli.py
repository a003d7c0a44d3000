"""The ``leadrelay`` command: parse arguments, call the library, print with Rich.

Exit status: 0 success; 2 bad input (file, policy, option) with every problem on stderr and the
database unchanged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from leadrelay import settings
from leadrelay.cli_score import score_app
from leadrelay.domain import Decision, Lead, Status
from leadrelay.errors import InputFileError, LeadRelayError, Problem, did_you_mean
from leadrelay.explain import explain_lines

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from leadrelay.policy.compiled import CompiledPolicy

app = typer.Typer(
    help="leadrelay: route every lead to the one rep most likely to win it, with a reason.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
load_app = typer.Typer(
    help="Load org data or leads (CSV or JSON) into the database.", no_args_is_help=True
)
policy_app = typer.Typer(help="Work with policy files.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for the HTTP service.", no_args_is_help=True)
app.add_typer(load_app, name="load")
app.add_typer(policy_app, name="policy")
app.add_typer(keys_app, name="keys")
app.add_typer(score_app, name="score")

out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $LEADRELAY_DB or sqlite:///leadrelay.db)."),
]
OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Write one row per lead here.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Decide everything, write nothing.")]
MapOption = Annotated[
    list[str] | None,
    typer.Option("--map", help="field=column for a non-standard header; repeatable."),
]
BAD_INPUT = 2


@contextmanager
def _reported() -> Iterator[None]:
    """Turn leadrelay's input errors into a located message on stderr and exit status 2."""
    try:
        yield
    except LeadRelayError as exc:
        err.print(f"[bold red]error:[/] {type(exc).__name__}", highlight=False)
        for problem in exc.problems:  # one line each, however long: scripts grep these
            err.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(BAD_INPUT) from exc


@contextmanager
def _engine(db: str | None) -> Iterator[Engine]:
    """The store's engine, disposed on exit: no pooled connection outlives the command."""
    from leadrelay.store import open_store

    engine = open_store(settings.database_url(db))
    try:
        yield engine
    finally:
        engine.dispose()


@app.command()
def init(db: DbOption = None) -> None:
    """Create or upgrade the database schema."""
    with _reported(), _engine(db) as engine:
        out.print(f"database ready: {engine.url.render_as_string(hide_password=True)}")


def _load(kind: str, path: Path, db: str | None) -> None:
    from leadrelay import files, store

    readers: dict[str, tuple[Callable[[Path], Sequence[Any]], Callable[..., int]]] = {
        "reps": (files.read_reps, store.save_reps),
        "teams": (files.read_teams, store.save_teams),
        "accounts": (files.read_accounts, store.save_accounts),
    }
    read, save = readers[kind]
    with _reported():
        rows = read(path)
        with _engine(db) as engine, engine.begin() as conn:
            if kind != "reps":
                _check_owners(rows, store.rep_ids(conn), path)
            save(conn, rows)
    out.print(f"loaded {len(rows)} {kind} from {path}")


def _check_owners(rows: Sequence[Any], reps: set[str], path: Path) -> None:
    """A team's or account's owner must be a loaded rep: someone must be accountable."""
    problems = [
        Problem(
            f"{row.id}: owner {row.owner!r} is not a loaded rep",
            source=str(path),
            field="owner",
            suggestion=did_you_mean(row.owner, reps),
        )
        for row in rows
        if row.owner and row.owner not in reps
    ]
    if problems:
        raise InputFileError(problems)


@load_app.command("reps")
def load_reps(path: Path, db: DbOption = None) -> None:
    """Load reps (reps.csv columns in DESIGN.md); a bad file changes nothing."""
    _load("reps", path, db)


@load_app.command("teams")
def load_teams(path: Path, db: DbOption = None) -> None:
    """Load teams (id,name,owner); membership comes from reps.csv."""
    _load("teams", path, db)


@load_app.command("accounts")
def load_accounts(path: Path, db: DbOption = None) -> None:
    """Load accounts (id,name,domain,owner)."""
    _load("accounts", path, db)


@load_app.command("relationships")
def load_relationships(
    path: Annotated[
        Path,
        typer.Argument(help="LinkedIn Connections.csv, a CRM owner file, or a,b,kind,strength."),
    ],
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="connections, crm or generic (default: from the header)."),
    ] = None,
    employee: Annotated[
        str | None,
        typer.Option(
            "--employee", help="Whose Connections.csv: a rep id, an email, or 'Name <email>'."
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Import name whose edges this file replaces.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Load relationships for social routing; re-loading a source replaces its edges."""
    from datetime import date

    from leadrelay.files.relationships import read_relationships
    from leadrelay.store import rep_ids
    from leadrelay.store.relationships import save_relationships

    with _reported(), _engine(db) as engine, engine.begin() as conn:
        read = read_relationships(
            path, format=file_format, employee=employee, known_reps=rep_ids(conn),
            today=date.today(), source=source,
        )  # fmt: skip
        replaced = save_relationships(conn, read.source, read.edges)
    note = f", replacing {replaced}" if replaced else ""
    out.print(
        f"loaded {len(read.edges)} relationships ({read.format}) from {path}"
        f" as {read.source!r}{note}",
        highlight=False,
        markup=False,
    )


@policy_app.command("check")
def policy_check(
    path: Path,
    db: DbOption = None,
    org: Annotated[
        bool, typer.Option(help="Also check rep and team names against the database's org.")
    ] = True,
) -> None:
    """Validate a policy file: every problem with its line; exit 2 if any."""
    from leadrelay.policy import load_policy_text

    with _reported():
        text = _read_text(path)
        reps, teams = _org_names(db) if org else (None, None)
        compiled = load_policy_text(
            text, source=str(path), reps=reps, teams=teams, base_dir=path.parent
        )
    checked = "names checked against the org" if reps else "names not checked (no org loaded)"
    out.print(
        f"[green]ok[/]: {path} — {len(compiled.routes)} routes, "
        f"{len(compiled.reject)} reject rules, {len(compiled.experiments)} experiments; {checked}"
    )


def _org_names(db: str | None) -> tuple[list[str] | None, list[str] | None]:
    from leadrelay import store

    with _engine(db) as engine, engine.connect() as conn:
        reps, teams = store.rep_ids(conn), store.team_ids(conn)
    return (list(reps) or None, list(teams) if reps else None)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputFileError(Problem(f"cannot read: {exc.strerror}", source=str(path))) from exc


@app.command()
def route(
    policy: Annotated[Path, typer.Option("--policy", "-p", help="Policy YAML file.")],
    leads: Annotated[
        Path | None,
        typer.Argument(help="Leads CSV (leads.csv columns; Salesforce/HubSpot headers mapped)."),
    ] = None,
    out_file: OutOption = None,
    dry_run: DryRunOption = False,
    mapping: MapOption = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Instead of a file, with --dry-run: re-decide the stored leads received since"
            " (30d, 12h, 2w or ISO time) and list those whose owner would change."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="With --since: print JSON.")] = False,
    optimize: Annotated[
        bool,
        typer.Option(
            "--optimize",
            help="Assign the batch for the most expected value (lead value x win rate) within"
            " caps; reports the gain over greedy and plain routing.",
        ),
    ] = False,
    fairness: Annotated[
        float | None,
        typer.Option(
            help="With --optimize: keep each rep within this share (0.2 = 20%) of its"
            " fair share of the batch."
        ),
    ] = None,
    segment: Annotated[
        str,
        typer.Option(
            help="With --optimize: the lead field win rates are measured by"
            " (industry, product, company_type, value_slab, source or *)."
        ),
    ] = "industry",
    top_k: Annotated[
        int, typer.Option("--top-k", help="With --optimize: candidate reps kept per lead.")
    ] = 20,
    db: DbOption = None,
) -> None:
    """Route a file of leads in file order, each at its own received_at; or, with --dry-run
    --since, show what a new policy would change for the leads already stored."""
    with _reported():
        if (leads is None) == (since is None):
            why = "give a leads file or --since (one of them)"
            raise InputFileError(Problem(why, field="--since"))
        if since is not None and not dry_run:
            why = "--since re-decides stored leads without writing: add --dry-run"
            raise InputFileError(Problem(why, field="--since"))
        if since is not None and optimize:
            why = "--optimize assigns a leads file; it does not apply to --since"
            raise InputFileError(Problem(why, field="--optimize"))
        if fairness is not None and not optimize:
            raise InputFileError(Problem("--fairness needs --optimize", field="--fairness"))
        plan = _Optimize(fairness, segment, top_k) if optimize else None
        if plan is not None:
            plan.check()
        if out_file is not None:
            _check_writable(out_file)  # before routing, so a failed write never follows a commit
        with _engine(db) as engine:
            if since is not None:
                _route_diff(since, policy, out_file, as_json=as_json, engine=engine)
                return
            assert leads is not None
            results = _route_file(
                leads, policy, out_file, dry_run=dry_run, mapping=mapping, engine=engine,
                optimize=plan,
            )  # fmt: skip
    _print_summary(results, dry_run=dry_run)
    if plan is not None and plan.report is not None:
        _print_optimized(plan.report)


def _route_diff(
    since_text: str, policy_path: Path, out_file: Path | None, *, as_json: bool, engine: Engine
) -> None:
    """Re-decide the stored leads since ``since_text`` under the policy file; print the changes."""
    import json

    from leadrelay import store
    from leadrelay.analytics.diff import stored_diff, write_changes
    from leadrelay.analytics.report import parse_since
    from leadrelay.policy import load_policy_text

    now = datetime.now(UTC)
    since = parse_since(since_text, now)
    assert since is not None
    text = _read_text(policy_path)
    with store.reader(engine).connect() as conn:
        compiled = load_policy_text(
            text,
            source=str(policy_path),
            reps=store.rep_ids(conn),
            teams=store.team_ids(conn),
            base_dir=policy_path.parent,
        )
        diff = stored_diff(conn, compiled, since=since, now=now)
        conn.rollback()
    if out_file is not None:
        write_changes(out_file, diff.changes)
    if as_json:
        print(json.dumps(diff.as_dict(), indent=2))
        return
    if out_file is not None:
        out.print(f"wrote {len(diff.changes)} changes to {out_file}")
    changes = Table(
        title=f"Dry run since {since:%Y-%m-%d %H:%M}: {len(diff.changes)} of {diff.leads}"
        " stored leads would change (nothing written)"
    )
    for column in ("lead", "external id", "old owner", "new owner", "old route", "new route"):
        changes.add_column(column)
    shown = diff.changes[:_MAX_CHANGES_SHOWN]
    for c in shown:
        changes.add_row(
            str(c.lead_id), c.external_id or "", c.old_owner or f"({c.old_status})",
            c.new_owner or f"({c.new_status})", c.old_route or "-", c.new_route or "-",
        )  # fmt: skip
    out.print(changes)
    if len(diff.changes) > len(shown):
        out.print(f"... and {len(diff.changes) - len(shown)} more (--out FILE lists them all)")
    reps = Table(title="Leads assigned per rep in the window: stored -> new policy")
    for column in ("rep", "stored", "new", "change"):
        reps.add_column(column, justify="left" if column == "rep" else "right")
    for r in diff.reps:
        reps.add_row(r.rep, str(r.before), str(r.after), f"{r.delta:+d}" if r.delta else "0")
    out.print(reps)


_MAX_CHANGES_SHOWN = 50


def _route_file(
    leads_path: Path,
    policy_path: Path,
    out_file: Path | None,
    *,
    dry_run: bool,
    mapping: list[str] | None,
    engine: Engine,
    optimize: _Optimize | None = None,
    keep_trials: bool = False,
) -> list[tuple[Lead, Any]]:
    from leadrelay import store
    from leadrelay.policy import load_policy_text

    text = _read_text(policy_path)
    with engine.connect() as conn:
        reps, teams = store.rep_ids(conn), store.team_ids(conn)
    if not reps:
        raise InputFileError(Problem("no reps loaded yet: run `leadrelay load reps FILE` first"))
    compiled = load_policy_text(
        text, source=str(policy_path), reps=reps, teams=teams, base_dir=policy_path.parent
    )
    return _route_leads(leads_path, compiled, out_file, dry_run=dry_run, mapping=mapping,
                        engine=engine, optimize=optimize, keep_trials=keep_trials)  # fmt: skip


def _route_leads(
    leads_path: Path,
    compiled: CompiledPolicy,
    out_file: Path | None,
    *,
    dry_run: bool,
    mapping: list[str] | None,
    engine: Engine,
    optimize: _Optimize | None = None,
    keep_trials: bool = False,
) -> list[tuple[Lead, Any]]:
    """Read, route and (``out_file``) write the leads of a file; the (lead, result) pairs.

    ``keep_trials``: the results keep each decision's trace (the demo prints some); else only
    outcomes, as ``--out`` and the summary need (each trace is stored all the same)."""
    from leadrelay import files
    from leadrelay.workflow import route_many

    lead_list = files.read_leads(
        leads_path,
        mapping=files.parse_mapping(mapping or ()),
        now=datetime.now(UTC),
        fields=dict(compiled.model.fields),  # converted here, so errors name file and row
    )
    # route_many stores the policy version in its own transaction: a failed run leaves nothing.
    with _progress(len(lead_list), "routing" if not dry_run else "dry run") as advance:
        if optimize is None:
            results = route_many(
                engine, lead_list, compiled, dry_run=dry_run, progress=advance,
                keep_trials=keep_trials,
            )  # fmt: skip
        else:
            results = optimize.run(engine, lead_list, compiled, dry_run=dry_run, progress=advance)
    pairs = list(zip(lead_list, results, strict=True))
    if out_file is not None:
        files.write_assignments(
            out_file,
            [
                files.AssignmentRow.of(lead.external_id, result.lead_id, result.decision)
                for lead, result in pairs
            ],
        )
        out.print(f"wrote {len(pairs)} rows to {out_file}")
    return pairs


class _Optimize:
    """``route --optimize`` options, and its report once the batch is routed."""

    def __init__(self, fairness: float | None, segment: str, top_k: int) -> None:
        self.fairness, self.segment, self.top_k = fairness, segment, top_k
        self.report: Any = None

    def check(self) -> None:
        from leadrelay.analytics.optimize_batch import check_options

        check_options(self.fairness, self.segment, self.top_k)

    def run(
        self, engine: Engine, leads: list[Lead], policy: CompiledPolicy, *, dry_run: bool,
        progress: Callable[[int], None],
    ) -> list[Any]:  # fmt: skip
        from leadrelay.analytics.optimize_batch import route_optimized

        self.report = route_optimized(
            engine, leads, policy, fairness=self.fairness, segment=self.segment, k=self.top_k,
            dry_run=dry_run, progress=progress,
        )  # fmt: skip
        return list(self.report.results)


def _print_optimized(report: Any) -> None:
    table = Table(
        title=f"Optimal batch assignment: {report.open_leads} of {report.leads} leads open to it"
        f" (top {report.top_k} candidates each"
        + (f", fairness ±{report.fairness:.0%}" if report.fairness is not None else "")
        + ")"
    )
    table.add_column("assignment")
    table.add_column("expected value", justify="right")
    table.add_column("optimal gains", justify="right")
    for name, value in (("optimal", report.optimal_value), ("greedy", report.greedy_value),
                        ("plain routing", report.plain_value)):  # fmt: skip
        gain = report.optimal_value - value
        share = f" ({gain / value:+.1%})" if value else ""
        table.add_row(name, f"{value:,.2f}", "" if name == "optimal" else f"{gain:,.2f}{share}")
    out.print(table)
    out.print(
        f"placed {report.placed} of {report.planned} planned leads"
        f" ({report.fell_back} kept their plain decision); solved in {report.solve_seconds:.2f} s"
    )
    if not report.floors_met:
        out.print("fairness floors could not all be met at once: solved with the ceilings only")


def _check_writable(path: Path) -> None:
    """Refuse an unwritable --out before routing, so a failed write never follows a commit."""
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise InputFileError(Problem(f"folder {folder} does not exist", field="--out"))
    if path.is_dir():
        raise InputFileError(Problem(f"{path} is a folder", field="--out"))


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=total < 2000,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def _print_summary(pairs: Sequence[tuple[Lead, Any]], *, dry_run: bool) -> None:
    decisions: list[Decision] = [result.decision for _, result in pairs]
    status = Counter(d.status.value for d in decisions)
    title = "Routed (dry run: nothing written)" if dry_run else "Routed"
    table = Table(title=f"{title}: {len(decisions)} leads")
    table.add_column("status")
    table.add_column("leads", justify="right")
    for name, count in status.most_common():
        table.add_row(name, str(count))
    out.print(table)


def print_report(decisions: Sequence[Decision], *, samples: int = 3) -> None:
    """Per-rep and per-route counts, leads not distributed and why, and sample traces."""
    by_rep = Counter(d.owner for d in decisions if d.status is Status.ASSIGNED)
    by_route = Counter((d.route or "(none)", d.strategy or "", d.status.value) for d in decisions)

    reps = Table(title="Leads per rep")
    reps.add_column("rep")
    reps.add_column("leads", justify="right")
    for rep, count in sorted(by_rep.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        reps.add_row(str(rep), str(count))
    out.print(reps)

    routes = Table(title="Leads per route")
    for column in ("route", "strategy", "status"):
        routes.add_column(column)
    routes.add_column("leads", justify="right")
    for (name, strategy, state), count in sorted(by_route.items(), key=lambda kv: -kv[1]):
        routes.add_row(name, strategy, state, str(count))
    out.print(routes)

    undistributed = Counter(
        _why_not_distributed(d) for d in decisions if d.status is not Status.ASSIGNED
    )
    missed = Table(title="Not distributed to a rep, and why")
    missed.add_column("why")
    missed.add_column("leads", justify="right")
    for why, count in undistributed.most_common():
        missed.add_row(why, str(count))
    out.print(missed)

    assigned = [d for d in decisions if d.status is Status.ASSIGNED]
    for decision in _samples(assigned, samples):
        out.rule(f"why this rep: lead {decision.lead_key}")
        for line in explain_lines(decision, max_candidates=6):
            out.print(line, highlight=False, markup=False, soft_wrap=True)


def _why_not_distributed(decision: Decision) -> str:
    if decision.status is Status.SCREENED_OUT:
        return f"screened out: {decision.screening.rejected_by}"
    if decision.status is Status.MANUAL:
        return decision.reason.split(" (", 1)[0]
    return f"{decision.status.value}: {decision.team or decision.pool or ''}".rstrip(": ")


def _samples(decisions: Sequence[Decision], count: int) -> list[Decision]:
    """Up to ``count`` traces from different strategies: ones where some rep was passed over
    and the trace is short enough to read come first."""

    def instructive(d: Decision) -> tuple[bool, int]:
        candidates = [c for t in d.trials for c in t.candidates]
        return (not any(c.excluded for c in candidates), len(candidates))

    chosen: list[Decision] = []
    seen: set[str | None] = set()
    for decision in sorted(decisions, key=instructive):
        if decision.strategy not in seen:
            chosen.append(decision)
            seen.add(decision.strategy)
        if len(chosen) == count:
            break
    return chosen


@load_app.command("leads")
def load_leads(
    path: Annotated[
        Path, typer.Argument(help="Leads CSV/JSON (leads.csv columns; Salesforce/HubSpot headers).")
    ],
    out_file: OutOption = None,
    dry_run: DryRunOption = False,
    mapping: MapOption = None,
    db: DbOption = None,
) -> None:
    """Import leads and route them with the active policy (see `policy activate`)."""
    from leadrelay import store
    from leadrelay.policy import load_policy_text

    with _reported():
        if out_file is not None:
            _check_writable(out_file)
        with _engine(db) as engine:
            with engine.connect() as conn:
                active = store.active_policy_text(conn)
            if active is None:
                why = "no active policy: run `leadrelay policy activate P.yaml` first"
                raise InputFileError(Problem(why, field="policy"))
            revision, text = active
            compiled = load_policy_text(text, source=f"policy version {revision}")
            results = _route_leads(
                path, compiled.with_revision(revision), out_file,
                dry_run=dry_run, mapping=mapping, engine=engine,
            )  # fmt: skip
    _print_summary(results, dry_run=dry_run)


@load_app.command("outcomes")
def load_outcomes(
    path: Annotated[
        Path, typer.Argument(help="CSV/JSON: lead_id or external_id, kind, at, value, reason.")
    ],
    db: DbOption = None,
) -> None:
    """Record outcomes (contacted, qualified, won, lost); all or nothing."""
    from leadrelay.files.outcomes import read_outcomes
    from leadrelay.store import find_by_external_ids
    from leadrelay.store.outcomes import OutcomeError, record_outcome

    with _reported():
        rows = read_outcomes(path)
        now = datetime.now(UTC)
        problems: list[Problem] = []
        with _engine(db) as engine, engine.begin() as conn:
            wanted = [row.external_id for row in rows if row.lead_id is None and row.external_id]
            ids = find_by_external_ids(conn, wanted)
            for row in rows:
                lead_id = row.lead_id if row.lead_id is not None else ids.get(row.external_id or "")
                if lead_id is None:
                    why = f"no lead with external_id {row.external_id!r}"
                    problems.append(
                        Problem(why, source=str(path), row=row.row, field="external_id")
                    )
                    continue
                try:
                    record_outcome(conn, lead_id, row.kind, row.at or now, value=row.value,
                                   reason=row.reason, by="import")  # fmt: skip
                except OutcomeError as exc:
                    problems.extend(
                        Problem(p.message, source=str(path), row=row.row, field=p.field)
                        for p in exc.problems
                    )
            if problems:
                raise InputFileError(problems)  # rolls the whole file back
    out.print(f"recorded {len(rows)} outcomes from {path}")


@policy_app.command("activate")
def policy_activate(path: Path, db: DbOption = None) -> None:
    """Validate a policy file against the org, store it as a new version and make it active."""
    from leadrelay import store
    from leadrelay.policy import load_policy_text

    with _reported():
        text = _read_text(path)
        with _engine(db) as engine, engine.begin() as conn:
            compiled = load_policy_text(
                text, source=str(path), reps=store.rep_ids(conn), teams=store.team_ids(conn)
            )
            revision = store.save_policy(conn, compiled)
            store.activate(conn, revision)
    out.print(f"policy version {revision} is active ({len(compiled.routes)} routes)")


@policy_app.command("versions")
def policy_versions(db: DbOption = None) -> None:
    """List stored policy versions, oldest first; * marks the active one."""
    from leadrelay import store

    with _reported(), _engine(db) as engine, engine.connect() as conn:
        versions = store.list_versions(conn)
    table = Table(title="Policy versions")
    for column in ("version", "active", "stored at", "digest"):
        table.add_column(column)
    for v in versions:
        table.add_row(str(v.revision), "*" if v.active else "", v.created_at.isoformat(),
                      v.digest[:12])  # fmt: skip
    out.print(table)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help="admin, manager or rep.")],
    rep: Annotated[str | None, typer.Option("--rep", help="The rep a rep key belongs to.")] = None,
    name: Annotated[str, typer.Option("--name", help="What the key is for.")] = "",
    db: DbOption = None,
) -> None:
    """Create an API key; it is printed once, only its digest is stored."""
    from leadrelay.store.keys import create_key

    with _reported(), _engine(db) as engine, engine.begin() as conn:
        key, token = create_key(conn, role, rep_id=rep, name=name)
    err.print(f"created {key.role} key {key.prefix}" + (f" for rep {key.rep_id}" if key.rep_id
              else "") + ": store it now, it is not shown again", highlight=False)  # fmt: skip
    print(token)  # alone on stdout, for scripts: KEY=$(leadrelay keys create --role admin)


@keys_app.command("list")
def keys_list(db: DbOption = None) -> None:
    """List API keys (prefix, role, rep, name, created, revoked); never the secrets."""
    from leadrelay.store.keys import list_keys

    with _reported(), _engine(db) as engine, engine.connect() as conn:
        keys = list_keys(conn)
    table = Table(title="API keys")
    for column in ("prefix", "role", "rep", "name", "created", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(k.prefix, k.role, k.rep_id or "", k.name, k.created_at.isoformat(),
                      k.revoked_at.isoformat() if k.revoked_at else "")  # fmt: skip
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(prefix: str, db: DbOption = None) -> None:
    """Revoke the API key with this prefix (as `keys list` shows it)."""
    from leadrelay.store.keys import revoke_key

    with _reported(), _engine(db) as engine, engine.begin() as conn:
        if not revoke_key(conn, prefix):
            raise InputFileError(Problem(f"no live key with prefix {prefix!r}", field="prefix"))
    out.print(f"revoked key {prefix} (running servers stop accepting it within seconds)")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (route template, status, ms, key prefix).")
    ] = False,
    routing_process: Annotated[
        bool,
        typer.Option(
            help="Route POST /v1/leads in one process of its own that every worker hands its"
            " leads to (faster); --no-routing-process: each worker routes in a thread."
        ),
    ] = True,
    db: DbOption = None,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs, Prometheus metrics at /metrics).

    Logs go to stderr as text, or as JSON lines with LEADRELAY_LOG_FORMAT=json."""
    import os
    import shutil
    import signal
    import tempfile

    import uvicorn

    from leadrelay.observe.logs import log_config
    from leadrelay.store import open_store

    url = settings.database_url(db)
    with _reported():
        open_store(url).dispose()  # create/upgrade the schema once, before any worker starts
        try:
            log_setup = log_config(settings.log_format(), access_log=access_log)
        except ValueError as exc:
            raise LeadRelayError(Problem(str(exc), field="LEADRELAY_LOG_FORMAT")) from None
    os.environ["LEADRELAY_DB"] = url  # each worker builds its app from the environment
    routed_apart = routing_process and settings.group_commit()
    pooled = None
    if (workers > 1 or routed_apart) and settings.metrics_dir() is None:
        # the processes pool their counters for /metrics (prometheus_client multiprocess mode)
        pooled = tempfile.mkdtemp(prefix="leadrelay-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = pooled
    host_process = None
    if routed_apart:
        from leadrelay.workflow.router_process import RouterHost

        with _reported():
            try:
                max_group, max_wait_ms = settings.group_max(), settings.group_wait_ms()
            except ValueError as exc:
                raise LeadRelayError(Problem(str(exc))) from None
        host_process = RouterHost(
            url, max_group=max_group, max_wait_s=max_wait_ms / 1e3, log_setup=log_setup
        )
        host_process.start()
        os.environ["LEADRELAY_ROUTER_SOCKET"] = host_process.path
    err.print(f"leadrelay API on http://{host}:{port}/docs (database {_safe(url)})")
    # One worker: uvicorn shuts down gracefully on SIGTERM, then raises it again with the handler
    # it found in place; the default one would end this process before the cleanup below (an
    # orphaned routing process, directories left in /tmp). This one ends it by SystemExit.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        # uvicorn's own access log stays off: it prints query strings; leadrelay.http does not
        uvicorn.run(
            "leadrelay.api.app:app_from_env", factory=True, host=host, port=port,
            workers=workers, access_log=False, log_level="warning", log_config=log_setup,
        )  # fmt: skip
    finally:
        if host_process is not None:
            host_process.stop()  # after the workers: it routes the last leads they sent
        if pooled is not None:
            shutil.rmtree(pooled, ignore_errors=True)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # the status a shell reports for a process ended by it


@app.command()
def worker(
    smtp_host: Annotated[str, typer.Option(help="SMTP server for email notifications.")] = (
        "localhost"
    ),
    smtp_port: Annotated[int, typer.Option(help="SMTP port.")] = 25,
    smtp_from: Annotated[str, typer.Option(help="Sender address.")] = "leadrelay@localhost",
    smtp_user: Annotated[str | None, typer.Option(help="SMTP login, if any.")] = None,
    smtp_password_env: Annotated[
        str, typer.Option(help="Environment variable holding the SMTP password.")
    ] = "LEADRELAY_SMTP_PASSWORD",
    starttls: Annotated[bool, typer.Option(help="Upgrade the SMTP connection with STARTTLS.")] = (
        False
    ),
    poll: Annotated[
        float, typer.Option(help="Seconds between rounds when idle (bounds notify latency).")
    ] = 0.25,
    once: Annotated[bool, typer.Option("--once", help="Run one round and exit.")] = False,
    timers: Annotated[
        bool, typer.Option(help="Run SLA timers (breach: reassign and escalate) too.")
    ] = True,
    db: DbOption = None,
) -> None:
    """Deliver notifications from the outbox (email, webhooks) and run SLA timers until
    interrupted. Several workers may run at once on PostgreSQL."""
    import os
    import signal
    import threading

    from leadrelay.notify.deliver import SmtpSettings
    from leadrelay.workflow.worker import RoundReport, WorkerConfig, deliver_due, run_worker

    config = WorkerConfig(
        smtp=SmtpSettings(
            host=smtp_host, port=smtp_port, sender=smtp_from, username=smtp_user,
            password=os.environ.get(smtp_password_env), starttls=starttls,
        ),
        poll_s=poll, timers=timers,
    )  # fmt: skip

    def show(report: RoundReport) -> None:
        err.print(f"delivered {report.delivered}, failed {report.failed} (will retry)")
        if report.breached or report.met or report.timer_errors:
            err.print(f"SLA timers: {report.breached} breached (reassigned, escalated),"
                      f" {report.met} met, {report.timer_errors} failed")  # fmt: skip
        for line in report.errors[:5]:
            err.print(f"  {line}", highlight=False, markup=False)

    with _reported(), _engine(db) as engine:
        if once:
            show(deliver_due(engine, config))
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        err.print(f"leadrelay worker on {_safe(str(engine.url))}; Ctrl-C stops it")
        run_worker(engine, config, stop, on_round=show)


def _safe(url: str) -> str:
    from leadrelay.store import safe_url

    return safe_url(url)


@app.command()
def kpi(
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Slice by unit, owner, route, product, value_slab, priority,"
            " source, confidence, period, status, experiment or arm (twice for two).",
        ),
    ] = None,
    period: Annotated[str, typer.Option(help="day, week or month (for --by period).")] = "week",
    since: Annotated[
        str | None, typer.Option(help="Only leads that arrived since: 30d, 12h, 2w or ISO time.")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where", help="Only leads with this dimension value, e.g. product=crm (repeatable)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    db: DbOption = None,
) -> None:
    """Routing KPIs: distributed, not distributed (aging), turnaround, accept, contact, SLA hit
    rate, wins (--json adds every percentile and count)."""
    import json

    from leadrelay.analytics.report import kpi_report, parse_since, parse_where

    now = datetime.now(UTC)
    with _reported(), _engine(db) as engine, engine.connect() as conn:
        rows = kpi_report(
            conn,
            now=now,
            by=by or [],
            period=period,
            since=parse_since(since, now),
            where=parse_where(where or []),
        )
    if as_json:
        print(json.dumps([row.as_dict() for row in rows], indent=2, default=str))
        return
    table = Table(title="KPIs" + (f" by {', '.join(by)}" if by else ""))
    columns = [*(by or []), *_KPI_COLUMNS]
    for column in columns:
        table.add_column(column, justify="left" if column in (by or []) else "right")
    for row in rows:
        late = row.aging["1-7d"] + row.aging["over 7d"]
        table.add_row(
            *(row.group[d] for d in by or []), str(row.leads), str(row.distributed),
            str(row.not_distributed), str(late), str(row.screened_out), str(row.duplicates),
            _duration(row.turnaround_p50_s), _duration(row.turnaround_p90_s),
            _duration(row.accept_p50_s), _pct(row.contact_rate), _pct(row.sla_hit_rate),
            _pct(row.win_rate), f"{row.won_value:,.0f}",
        )  # fmt: skip
    out.print(table)


# short: the table must fit 80 columns with two dimensions
_KPI_COLUMNS = (
    "leads", "given", "waiting", ">24h", "screened", "dup", "turn p50", "turn p90",
    "accept p50", "contacted", "SLA met", "win", "won",
)  # fmt: skip


@app.command()
def fairness(
    route_name: Annotated[str | None, typer.Option("--route", help="Only this route.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    db: DbOption = None,
) -> None:
    """Per route: each rep's leads against its target share; spread and Gini."""
    import json

    from leadrelay.analytics.report import fairness_report

    with _reported(), _engine(db) as engine, engine.connect() as conn:
        routes = fairness_report(conn, route_name)
    if as_json:
        print(json.dumps([r.as_dict() for r in routes], indent=2))
        return
    for r in routes:
        gini = "-" if r.gini is None else f"{r.gini:.2f}"
        title = f"{r.route} ({r.strategy or 'no longer in the policy'}): {r.leads} leads, "
        table = Table(
            title=title + f"spread {r.spread if r.spread is not None else '-'}, Gini {gini}"
        )
        for column in ("rep", "leads", "share", "target", "deviation"):
            table.add_column(column, justify="left" if column == "rep" else "right")
        for rep in r.reps:
            dev = "-" if rep.deviation is None else f"{rep.deviation * 100:+.1f} pt"
            table.add_row(rep.rep, str(rep.leads), _pct(rep.share), _pct(rep.target), dev)
        out.print(table)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


@app.command()
def explain(lead_id: int, db: DbOption = None) -> None:
    """Show why a lead went where it went, from its stored decision alone."""
    from leadrelay import store

    with _reported(), _engine(db) as engine, engine.connect() as conn:
        decision = store.get_decision(conn, lead_id)
    for line in explain_lines(decision, skipped_routes=True):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command()
def ledger(
    route_name: Annotated[str | None, typer.Option("--route", help="Only this route.")] = None,
    db: DbOption = None,
) -> None:
    """Show the round-robin ledger: leads and last position per route and rep."""
    from leadrelay import store

    with _reported(), _engine(db) as engine, engine.connect() as conn:
        rows = store.ledger(conn, route_name)
    table = Table(title="Round-robin ledger")
    for column in ("route", "rep", "leads", "last position"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.route, row.rep_id, str(row.count), str(row.last_seq))
    out.print(table)


@app.command()
def demo(
    db: DbOption = None,
    leads: Annotated[int, typer.Option(help="How many demo leads to generate.")] = 2000,
    workdir: Annotated[Path, typer.Option(help="Where the demo files are written.")] = Path("demo"),
) -> None:
    """Build a demo sales org from shipped data, route a batch of leads, and show why."""
    from leadrelay import files, store
    from leadrelay.demo_org import build_demo

    with _reported():
        workdir.mkdir(parents=True, exist_ok=True)
        if db is None:  # the demo's own database, made afresh each run; never a user's
            url = f"sqlite:///{workdir / 'demo.db'}"
            for suffix in ("", "-wal", "-shm"):
                (workdir / f"demo.db{suffix}").unlink(missing_ok=True)
        else:
            url = db
        paths = build_demo(workdir, leads=leads)
        out.print(f"demo org written to {workdir}/ (reps, teams, accounts, leads, policy)")
        with _engine(url) as engine:
            with engine.connect() as conn:
                if store.counts_by_status(conn):
                    why = "the demo needs an empty database; this one has leads"
                    raise InputFileError(Problem(why, field="--db"))
            with engine.begin() as conn:
                store.save_reps(conn, files.read_reps(paths.reps))
                store.save_teams(conn, files.read_teams(paths.teams))
                store.save_accounts(conn, files.read_accounts(paths.accounts))
            pairs = _route_file(
                paths.leads, paths.policy, workdir / "assignments.csv",
                dry_run=False, mapping=None, engine=engine, keep_trials=True,
            )  # fmt: skip
    print_report([result.decision for _, result in pairs])
    out.print(  # soft_wrap: a wrapped URL could not be pasted back
        f"\nDatabase: {url}. Try: leadrelay explain 1 --db {url}  |  leadrelay ledger --db {url}",
        soft_wrap=True,
    )


# --- measurement: experiments, simulation (issue 6) -------------------------------------------

experiment_app = typer.Typer(help="Experiments: a challenger route against control.",
                             no_args_is_help=True)  # fmt: skip
app.add_typer(experiment_app, name="experiment")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@experiment_app.command("report")
def experiment_report(
    name: Annotated[str, typer.Argument(help="The experiment's name in the policy.")],
    since: Annotated[
        str | None, typer.Option(help="Only leads that arrived since: 30d, 12h, 2w or ISO time.")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Per arm: leads, contact, conversion and win rates (95% Wilson), and a z-test each."""
    import json

    from leadrelay.analytics.experiment import stored_experiment_report
    from leadrelay.analytics.report import parse_since

    with _reported(), _engine(db) as engine, engine.connect() as conn:
        start = parse_since(since, datetime.now(UTC))
        report = stored_experiment_report(conn, name, since=start)
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    table = Table(title=f"Experiment {name}")
    for column in ("arm", "leads", "contacted", "converted", "won", "lost"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for metric in ("contact", "conversion", "win"):
        table.add_column(f"{metric} rate (95% CI)", justify="right")
    for arm in (report.control, report.challenger):
        table.add_row(
            arm.arm, str(arm.leads), str(arm.contacted), str(arm.converted), str(arm.won),
            str(arm.lost), *(_interval(arm.rate(m)) for m in ("contact", "conversion", "win")),
        )  # fmt: skip
    out.print(table)
    tests = Table(title=f"Challenger vs control (two-proportion z-test, alpha {report.alpha:g})")
    for column in ("rate", "difference", "z", "p", "verdict", "why"):
        tests.add_column(column)
    for c in report.comparisons:
        tests.add_row(
            c.metric,
            "-" if c.difference is None else f"{c.difference * 100:+.1f} pt",
            "-" if c.z is None else f"{c.z:.2f}",
            "-" if c.p_value is None else f"{c.p_value:.3g}",
            c.verdict,
            c.note,
        )
    out.print(tests)


def _interval(rate: Any) -> str:
    if rate.rate is None:
        return "-"
    if rate.low is None:
        return f"{rate.rate:.1%}"
    return f"{rate.rate:.1%} ({rate.low:.1%}-{rate.high:.1%})"


def _money(mean: Any) -> str:
    if mean.mean is None:
        return "-"
    if mean.low is None:
        return f"{mean.mean:,.0f}"
    return f"{mean.mean:,.0f} ({mean.low:,.0f}-{mean.high:,.0f})"


@app.command()
def simulate(
    policy: Annotated[Path, typer.Option("--policy", "-p", help="Policy YAML file.")],
    history: Annotated[
        Path | None,
        typer.Option(
            help="History CSV/JSON: leads.csv columns + owner, outcome, won_value, closed_at."
        ),
    ] = None,
    crm: Annotated[
        bool, typer.Option("--crm", help="Replay the shipped CRM dataset (docs/simulation.md).")
    ] = False,
    reps: Annotated[Path | None, typer.Option(help="Reps file (default: the database's).")] = None,
    teams: Annotated[Path | None, typer.Option(help="Teams file (with --reps).")] = None,
    accounts: Annotated[Path | None, typer.Option(help="Accounts file (with --reps).")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Replay past leads in arrival order through the policy; loads, SLA risk, outcomes."""
    import json
    import tempfile

    from leadrelay.analytics.simulate import crm_inputs, org_from_files
    from leadrelay.analytics.simulate import simulate as replay
    from leadrelay.files.history import read_history
    from leadrelay.policy import load_policy_text

    with _reported():
        if (history is None) == (not crm):
            why = "give --history FILE or --crm (one of them)"
            raise InputFileError(Problem(why, field="--history"))
        if ((teams or accounts) and reps is None) or (crm and reps is not None):
            why = "--teams and --accounts go with --reps; --crm brings its own org"
            raise InputFileError(Problem(why, field="--reps"))
        text = _read_text(policy)
        if crm:
            with tempfile.TemporaryDirectory(prefix="leadrelay-crm-") as workdir:
                org, account_list, rows = crm_inputs(Path(workdir))
        elif reps is not None:
            org, account_list = org_from_files(reps, teams, accounts)
        else:
            from leadrelay.store import load_org
            from leadrelay.store.org import list_accounts

            with _engine(db) as engine, engine.connect() as conn:
                org, account_list = load_org(conn), list_accounts(conn)
            if not org.reps:
                why = "no reps loaded: run `leadrelay load reps FILE` first, or give --reps"
                raise InputFileError(Problem(why, field="--reps"))
        compiled = load_policy_text(
            text,
            source=str(policy),
            reps=set(org.reps),
            teams=set(org.teams),
            base_dir=policy.parent,
        )
        if history is not None:
            rows = read_history(history, fields=dict(compiled.model.fields))
        result = replay(rows, compiled, org, accounts=account_list)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    _print_simulation(result)


def _print_simulation(sim: Any) -> None:
    span = f"{sim.first:%Y-%m-%d} to {sim.last:%Y-%m-%d}" if sim.first else "no leads"
    given = sum(r.leads for r in sim.reps)
    out.print(f"Replayed {sim.leads} leads ({span}): {given} given to reps, "
              f"SLA risk {sum(sim.sla_risk.values())} ({sim.sla_risk['off_hours']} off hours, "
              f"{sim.sla_risk['near_cap']} near a cap)", highlight=False)  # fmt: skip
    if sim.not_placed:
        missed = Table(title="Not given to a rep, and why")
        missed.add_column("why")
        missed.add_column("leads", justify="right")
        for why, count in sim.not_placed.items():
            missed.add_row(why, str(count))
        out.print(missed)
    reps = Table(title="Per rep: simulated vs historical leads, daily load, SLA risk")
    for column in ("rep", "leads", "history", "max/day", "cap/day", "days at cap", "at risk"):
        reps.add_column(column, justify="left" if column == "rep" else "right")
    for r in sim.reps:
        if r.leads or r.historical:
            reps.add_row(r.rep, str(r.leads), str(r.historical), str(r.max_per_day),
                         "-" if r.cap_per_day is None else str(r.cap_per_day),
                         str(r.days_at_cap), str(r.sla_risk))  # fmt: skip
    out.print(reps)
    e = sim.estimate
    share = f"{e.matched / e.closed:.0%}" if e.closed else "-"
    est = Table(title=f"Outcomes, replay method: {e.matched} of {e.closed} closed leads "
                      f"({share}) went to their historical owner")  # fmt: skip
    for column in ("", "closed leads", "win rate (95% CI)", "won value per lead (95% CI)"):
        est.add_column(column, justify="left" if not column else "right")
    est.add_row("policy (matched leads)", str(e.matched), _interval(e.win_rate),
                _money(e.value_per_lead))  # fmt: skip
    est.add_row("history (all closed)", str(e.closed), _interval(e.historical_win_rate),
                _money(e.historical_value_per_lead))  # fmt: skip
    out.print(est)


# --- manual assignment (workflows.md) -----------------------------------------------------


@app.command("assign")
def assign_lead(
    lead_id: Annotated[int, typer.Argument(help="The lead's id.", min=1)],
    to: Annotated[
        str | None, typer.Option("--to", help="The rep; omitted = whoever the policy picks.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")] = "",
    by: Annotated[str, typer.Option("--by", help="Who is assigning.")] = "cli",
    db: DbOption = None,
) -> None:
    """Assign or reassign one lead, to a rep or by the active policy, with a reason."""
    from leadrelay.workflow.reroute import reassign

    with _reported(), _engine(db) as engine:
        done = reassign(engine, lead_id, by, reason, to=to)
    who = done.owner or "the manager queue"
    out.print(f"lead {done.lead_id}: {done.status}, {who} (was {done.previous_owner or '-'})")


@app.command("reassign")
def reassign_open(
    rep: Annotated[str, typer.Option("--rep", help="The rep whose open leads move on.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")] = "",
    deactivate: Annotated[
        bool, typer.Option("--deactivate", help="Also mark the rep inactive (they left).")
    ] = False,
    by: Annotated[str, typer.Option("--by", help="Who is reassigning.")] = "cli",
    db: DbOption = None,
) -> None:
    """Re-route every open lead of a rep by the active policy, one lead at a time."""
    from leadrelay.workflow.reroute import reassign_rep

    with _reported(), _engine(db) as engine:
        report = reassign_rep(engine, rep, by, reason, deactivate=deactivate)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts().items()))
    out.print(f"{rep}: {len(report.moved)} open lead(s) moved ({counts or 'none'})"
              + ("; rep deactivated" if report.deactivated else ""))  # fmt: skip
    for done in report.moved:
        out.print(f"  lead {done.lead_id} -> {done.owner or done.status}", highlight=False)
    for lead_id, why in report.failed:
        err.print(f"  lead {lead_id} not moved: {why}", highlight=False, markup=False)


def main() -> None:
    app()
