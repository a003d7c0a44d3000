"""The duplicate keys a bulk run knows: stored originals plus leads held earlier in the run.

For each lead, ``originals_for`` gives the earliest original per key inside the policy's
window before the lead's arrival, as live routing's query does. Leads held in this run join
the index at once with no id yet; ``waiting`` says whether a lead's originals still need their
ids (the run writes its pending leads first), and ``stored`` fills the ids in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from leadrelay.domain.snapshot import Original


class DuplicateIndex:
    def __init__(self, stored: dict[str, list[Original]], window: timedelta) -> None:
        self._by_key = stored
        self._window = window
        self._pending: dict[int, list[tuple[str, int]]] = {}  # run position -> (key, list index)

    def originals_for(self, keys: Sequence[str], at: datetime) -> dict[str, Original]:
        found: dict[str, Original] = {}
        earliest = at - self._window
        for key in keys:
            for original in self._by_key.get(key, ()):
                if earliest <= original.received_at <= at:
                    found[key] = original
                    break
        return found

    @staticmethod
    def waiting(originals: dict[str, Original]) -> bool:
        return any(o.lead_id is None for o in originals.values())

    def held(self, position: int, keys: Iterable[str], original: Original) -> None:
        """The lead at ``position`` in the run now holds an owner: later copies link to it."""
        for key in keys:
            entries = self._by_key.setdefault(key, [])
            entries.append(original)
            self._pending.setdefault(position, []).append((key, len(entries) - 1))

    def stored(self, position: int, lead_id: int) -> None:
        for key, index in self._pending.pop(position, ()):
            entries = self._by_key[key]
            entries[index] = replace(entries[index], lead_id=lead_id)
