"""Who may take a lead right now: active, in working hours, not away, under every cap.

``decide`` asks this for some twenty reps per lead, so what does not change from lead to lead is
worked out once: per rep (``RepProfile``: the hours as a minute-of-week table, the absences, the
caps under the policy's default, the counter keys of the current day) and per route's candidates
over a span of minutes (``Roster``: who is inactive, away or outside working hours until when).
Every exclusion is a trace ``Candidate`` shared by all the decisions that give the same reason.
Cap counters are read from the snapshot for every lead: they move between leads and callers may
edit them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from itertools import compress, repeat
from operator import ge, is_

from leadrelay.domain.clock import LocalMinute, epoch_minute, local_minute, steady_until
from leadrelay.domain.decision import NO_FACTORS, Candidate, quick_candidate
from leadrelay.domain.rep import Caps, Rep
from leadrelay.domain.snapshot import Snapshot

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# the counter periods, in the order they are checked, and how a reason names each
_PERIODS = (("day", "daily"), ("week", "weekly"), ("month", "monthly"))
_MAX_PROFILES = 65536
_MAX_CAP_REASONS = 256  # per rep; a rep at a cap mostly shows the same (given/cap) again

# A counter to check: (counters key, cap, period word for the reason).
_CapCheck = tuple[tuple[str, str, date], int, str]


def _excluded(rep_id: str, reason: str | None) -> Candidate:
    """A trace entry: excluded for ``reason`` (None: eligible, not scored)."""
    return quick_candidate(rep_id, reason, None, NO_FACTORS)


def exclusion(
    rep: Rep, snapshot: Snapshot, default_caps: Caps, *, off_hours_ok: bool = False
) -> str | None:
    """Why ``rep`` may not take a lead at ``snapshot.now``, or None if it may."""
    return Eligibility(snapshot, RepProfiles(default_caps)).why_not(rep, off_hours_ok=off_hours_ok)


class RepProfile:
    """What eligibility needs of one rep under one policy's default caps.

    Built from a (frozen) ``Rep`` and kept only while the snapshot holds that very object. Its
    memos (the counter keys of the last local day, the last "outside working hours" entry, the
    cap reasons) are pure functions of their keys: they save work, never change an answer.
    """

    __slots__ = (
        "_cap_reasons",
        "_checks",
        "_outside",
        "away",
        "caps",
        "hours",
        "hours_text",
        "id",
        "inactive",
        "rep",
        "timezone",
    )

    def __init__(self, rep: Rep, default_caps: Caps) -> None:
        self.rep = rep
        self.id = rep.id
        self.timezone = rep.timezone
        self.inactive = None if rep.active else _excluded(rep.id, "inactive")
        self.away = tuple(
            (
                away.start,
                away.end,
                _excluded(rep.id, f"out of office {away}"),
            )
            for away in rep.out_of_office
        )
        self.hours = rep.working_hours.minute_table()
        self.hours_text = f"{rep.working_hours.text} {rep.timezone}"
        caps = rep.effective_caps(default_caps)
        self.caps = tuple(
            (period, word, cap)
            for (period, word), cap in zip(
                _PERIODS, (caps.per_day, caps.per_week, caps.per_month), strict=True
            )
            if cap is not None
        )
        self._checks: tuple[int, tuple[_CapCheck, ...]] | None = None
        self._outside: tuple[int, Candidate] | None = None
        self._cap_reasons: dict[tuple[str, int, int], Candidate] = {}

    def away_on(self, today: date) -> Candidate | None:
        for start, end, why in self.away:
            if start <= today <= end:
                return why
        return None

    def cap_checks(self, here: LocalMinute) -> tuple[_CapCheck, ...]:
        """The counters to compare with the caps on the rep's local day ``here``."""
        checks = self._checks
        if checks is not None and checks[0] == here.day_number:
            return checks[1]
        starts = {"day": here.today, "week": here.week_start, "month": here.month_start}
        made = tuple(
            ((self.id, period, starts[period]), cap, word) for period, word, cap in self.caps
        )
        self._checks = (here.day_number, made)
        return made

    def outside_hours(self, here: LocalMinute) -> Candidate:
        minute = here.minute_of_week
        last = self._outside
        if last is not None and last[0] == minute:
            return last[1]
        reason = _OUTSIDE.get((self.hours_text, minute))
        if reason is None:
            if len(_OUTSIDE) >= _MAX_PROFILES:
                _OUTSIDE.clear()
            reason = f"outside working hours ({self.hours_text}; {_clock(minute)} there)"
            _OUTSIDE[(self.hours_text, minute)] = reason
        made = _excluded(self.id, reason)
        self._outside = (minute, made)
        return made

    def at_cap(self, word: str, given: int, cap: int) -> Candidate:
        known = self._cap_reasons.get((word, given, cap))
        if known is None:
            if len(self._cap_reasons) >= _MAX_CAP_REASONS:
                self._cap_reasons.clear()
            known = _excluded(self.id, f"at {word} cap ({given}/{cap})")
            self._cap_reasons[(word, given, cap)] = known
        return known


# (hours and zone, local minute of week) -> the reason: reps of one office share it
_OUTSIDE: dict[tuple[str, int], str] = {}


@lru_cache(maxsize=7 * 1440)
def _clock(minute_of_week: int) -> str:
    """``Mon 09:30``."""
    hour, minute = divmod(minute_of_week % 1440, 60)
    return f"{_WEEKDAYS[minute_of_week // 1440]} {hour:02d}:{minute:02d}"


class RepProfiles:
    """Each rep's profile under one policy's default caps, by rep id (a policy keeps one)."""

    __slots__ = ("_by_id", "_plain", "_unknown", "default_caps")

    def __init__(self, default_caps: Caps) -> None:
        self.default_caps = default_caps
        self._by_id: dict[str, RepProfile] = {}
        self._unknown: dict[str, Candidate] = {}
        self._plain: dict[str, Candidate] = {}

    def of(self, rep: Rep) -> RepProfile:
        profile = self._by_id.get(rep.id)
        if profile is None or profile.rep is not rep:
            if len(self._by_id) >= _MAX_PROFILES:
                self._by_id.clear()
            profile = self._by_id[rep.id] = RepProfile(rep, self.default_caps)
        return profile

    def unknown(self, rep_id: str) -> Candidate:
        """The trace entry of a candidate the snapshot has no rep for."""
        known = self._unknown.get(rep_id)
        if known is None:
            if len(self._unknown) >= _MAX_PROFILES:
                self._unknown.clear()
            known = self._unknown[rep_id] = _excluded(rep_id, "not a known rep")
        return known

    def plain(self, rep_id: str) -> Candidate:
        """The trace entry of an eligible candidate the strategy did not score."""
        known = self._plain.get(rep_id)
        if known is None:
            if len(self._plain) >= _MAX_PROFILES:
                self._plain.clear()
            known = self._plain[rep_id] = _excluded(rep_id, None)
        return known


class Roster:
    """A route's candidates as eligibility sees them before reading any counter.

    Whether a rep is active, away, or inside working hours depends only on the rep and the local
    minute, so the answer holds over a span of minutes: until the rep's hours start or end, a
    local day ends, or the zone's UTC offset changes (checked per UTC hour). A roster is built for
    one moment and reused by every lead decided inside ``[first, until)`` (epoch minutes) whose
    snapshot has the same candidates and the very same Rep objects; caps are checked at every
    lead against the snapshot's counters.

    Laid out for ``Eligibility.screen``, which runs for every matched route of every lead: the
    checks run over flat tuples with ``map`` (in C), and the trace starts as a copy of a template
    holding the entries that do not change over the span.
    """

    __slots__ = (
        "candidates",
        "cap_keys",
        "cap_limits",
        "cap_owners",
        "cap_words",
        "capped",
        "counted",
        "counted_reps",
        "counted_slots",
        "first",
        "fixed_excluded",
        "outside",
        "outside_at",
        "reps",
        "template",
        "until",
    )

    def __init__(self, candidates: tuple[str, ...], first: int) -> None:
        self.candidates = candidates
        self.first = first
        self.until = first
        self.reps: list[Rep | None] = []  # the Rep of each candidate when built, or None
        self.template: list[Candidate | None] = []  # fixed entries; None where decided per lead
        self.fixed_excluded: dict[str, str] = {}
        self.outside: list[tuple[int, str, RepProfile]] = []  # (slot, rep id, profile)
        # their trace entries at the last minute asked (the clock in them changes every minute)
        self.outside_at: tuple[int | None, tuple[tuple[int, str, Candidate], ...]] | None = None
        self.counted: list[tuple[int, Rep, RepProfile, tuple[_CapCheck, ...]]] = []
        self.counted_reps: tuple[Rep, ...] = ()  # eligible when no cap binds
        self.counted_slots: tuple[int, ...] = ()
        self.cap_keys: list[tuple[str, str, date]] = []  # every counter to read, flat
        self.cap_limits: list[int] = []
        self.cap_words: list[str] = []
        self.cap_owners: list[int] = []  # its rep's place in ``counted``
        # which caps bound at the last lead, and what that meant (see _capped)
        self.capped: _Capped | None = None

    def add_fixed(self, rep_id: str, why: Candidate) -> None:
        self.template.append(why)
        self.fixed_excluded[rep_id] = why.excluded  # type: ignore[assignment]


# Which of a roster's cap keys are at their cap; the (key index, count) that says why for each rep
# at a cap, and that rep's (slot, rep id, trace entry); the eligible reps and their slots.
_Capped = tuple[
    list[bool],
    tuple[tuple[int, int], ...],
    tuple[tuple[int, str, Candidate], ...],
    tuple[Rep, ...],
    tuple[int, ...],
]
# Which candidates of a route may take the lead: the trace (None where eligible, for the strategy
# to fill), the eligible reps, why each other one is excluded, and the trace slots of the eligible.
Screened = tuple[list[Candidate | None], tuple[Rep, ...], dict[str, str], tuple[int, ...]]


class Eligibility:
    """``exclusion`` for many reps at one moment, as one decision asks it.

    Each time zone's local minute is worked out once. Holds no state beyond the one decision.
    """

    __slots__ = ("_counters", "_now", "_zones", "minute", "profiles")

    def __init__(self, snapshot: Snapshot, profiles: RepProfiles) -> None:
        self._now: datetime = snapshot.now
        self._counters = snapshot.counters
        self.profiles = profiles
        self.minute = epoch_minute(snapshot.now)  # None: naive, no roster outlives its lead
        self._zones: dict[str, LocalMinute] = {}

    def why_not(self, rep: Rep, off_hours_ok: bool = False) -> str | None:
        """Why ``rep`` may not take a lead now (active, then away, then hours, then caps)."""
        profile = self.profiles.of(rep)
        if profile.inactive is not None:
            return profile.inactive.excluded
        here = self.here(profile.timezone)
        away = profile.away_on(here.today)
        if away is not None:
            return away.excluded
        hours = profile.hours
        if not off_hours_ok and hours is not None and not hours[here.minute_of_week]:
            return profile.outside_hours(here).excluded
        counters = self._counters
        for key, cap, word in profile.cap_checks(here):
            given = counters.get(key, 0)
            if given >= cap:
                return profile.at_cap(word, given, cap).excluded
        return None

    def here(self, timezone: str) -> LocalMinute:
        """The decision's moment in ``timezone``."""
        here = self._zones.get(timezone)
        if here is None:
            here = self._zones[timezone] = local_minute(self._now, timezone)
        return here

    def screen(
        self,
        candidates: tuple[str, ...],
        reps: Mapping[str, Rep],
        off_hours_ok: bool,
        rosters: list[Roster | None],
    ) -> Screened:
        """Which ``candidates`` may take the lead now, and why the others may not.

        ``rosters`` keeps these candidates' rosters by ``off_hours_ok`` from lead to lead: the
        one there is used while it holds, else replaced.
        """
        roster = rosters[off_hours_ok]
        minute = self.minute
        if (
            roster is not None
            and roster.candidates is candidates
            and minute is not None
            and roster.first <= minute < roster.until
        ):
            screened = self._screen(roster, reps)
            if screened is not None:
                return screened
        roster = rosters[off_hours_ok] = self.roster(candidates, reps, off_hours_ok)
        screened = self._screen(roster, reps)
        assert screened is not None  # built from these very reps
        return screened

    def roster(
        self, candidates: tuple[str, ...], reps: Mapping[str, Rep], off_hours_ok: bool
    ) -> Roster:
        """The candidates as of this decision's minute, and how long that holds."""
        minute = self.minute
        first = minute if minute is not None else 0
        roster = Roster(candidates, first)
        # no reuse (until <= first) unless every zone's local minutes follow UTC's; none beyond a
        # day, the furthest any rep's local midnight can be
        until = first + 1440 if minute is not None else first
        zones: set[str] = set()
        profiles = self.profiles
        for slot, rep_id in enumerate(candidates):
            rep = reps.get(rep_id)
            roster.reps.append(rep)
            if rep is None:
                roster.add_fixed(rep_id, profiles.unknown(rep_id))
                continue
            profile = profiles.of(rep)
            if profile.inactive is not None:
                roster.add_fixed(rep_id, profile.inactive)
                continue
            here = self.here(profile.timezone)
            week_minute = here.minute_of_week
            day_left = 1440 - week_minute % 1440  # to the rep's local midnight
            if minute is not None and profile.timezone not in zones:
                zones.add(profile.timezone)  # a zone's midnight and offset: once for its reps
                until = steady_until(profile.timezone, minute, min(until, minute + day_left))
            away = profile.away_on(here.today)
            if away is not None:
                roster.add_fixed(rep_id, away)
                continue
            roster.template.append(None)
            hours = profile.hours
            if not off_hours_ok and hours is not None:
                working = hours[week_minute]
                change = hours.find(
                    b"\x00" if working else b"\x01", week_minute + 1, week_minute + day_left
                )
                if change != -1:
                    until = min(until, first + change - week_minute)
                if not working:
                    roster.outside.append((slot, rep_id, profile))
                    continue
            checks = profile.cap_checks(here)
            for key, cap, word in checks:
                roster.cap_keys.append(key)
                roster.cap_limits.append(cap)
                roster.cap_words.append(word)
                roster.cap_owners.append(len(roster.counted))
            roster.counted.append((slot, rep, profile, checks))
        roster.counted_reps = tuple(rep for _, rep, _, _ in roster.counted)
        roster.counted_slots = tuple(slot for slot, _, _, _ in roster.counted)
        roster.until = until
        return roster

    def _outside(self, roster: Roster) -> tuple[tuple[int, str, Candidate], ...]:
        """The trace entries of the roster's reps outside working hours, at this minute."""
        zones = self._zones
        made = []
        for slot, rep_id, profile in roster.outside:
            here = zones.get(profile.timezone)
            if here is None:
                here = self.here(profile.timezone)
            made.append((slot, rep_id, profile.outside_hours(here)))
        return tuple(made)

    def _screen(self, roster: Roster, reps: Mapping[str, Rep]) -> Screened | None:
        """The roster's candidates at this lead, caps read now; None if a rep has changed."""
        if not all(map(is_, map(reps.get, roster.candidates), roster.reps)):
            return None
        trace = roster.template.copy()
        excluded = roster.fixed_excluded.copy()
        if roster.outside:
            outside = roster.outside_at
            if outside is None or outside[0] != self.minute or self.minute is None:
                outside = (self.minute, self._outside(roster))
                roster.outside_at = outside
            for slot, rep_id, why in outside[1]:
                trace[slot] = why
                excluded[rep_id] = why.excluded  # type: ignore[assignment]
        counters = self._counters
        given = list(map(counters.get, roster.cap_keys, repeat(0)))
        _, _, at_cap, eligible, slots = _capped(roster, given)
        for slot, rep_id, why in at_cap:
            trace[slot] = why
            excluded[rep_id] = why.excluded  # type: ignore[assignment]
        return trace, eligible, excluded, slots


def _capped(roster: Roster, given: list[int]) -> _Capped:
    """Who of the roster's counted reps is at a cap with these counts, and who is eligible.

    Reuses the roster's last answer when the same caps bind with the same counts (the reps at a
    cap get no leads, so that is the usual case).
    """
    over = list(map(ge, given, roster.cap_limits))
    last = roster.capped
    if last is not None and last[0] == over:
        for index, count in last[1]:
            if given[index] != count:
                break
        else:
            return last
    if True not in over:
        answer: _Capped = (over, (), (), roster.counted_reps, roster.counted_slots)
        roster.capped = answer
        return answer
    # the first of a rep's periods (day, week, month) that is at its cap says why
    capped: dict[int, tuple[int, Candidate]] = {}
    for index in compress(range(len(over)), over):
        owner = roster.cap_owners[index]
        if owner not in capped:
            why = roster.counted[owner][2].at_cap(
                roster.cap_words[index], given[index], roster.cap_limits[index]
            )
            capped[owner] = index, why
    free = [True] * len(roster.counted)
    at_cap = []
    for owner, (_, why) in capped.items():
        free[owner] = False
        slot, rep, _, _ = roster.counted[owner]
        at_cap.append((slot, rep.id, why))
    answer = (
        over,
        tuple((index, given[index]) for index, _ in capped.values()),
        tuple(at_cap),
        tuple(compress(roster.counted_reps, free)),
        tuple(compress(roster.counted_slots, free)),
    )
    roster.capped = answer
    return answer
