"""Hypothesis strategies for data files: a known header (shuffled, cut, with strangers) over rows
of cells that are mostly near-miss values of the right kind, sometimes any text at all, and
sometimes a file that is not CSV at all (any text, JSON of any shape, odd bytes)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from hypothesis import strategies as st

# Values a real file holds, and the near misses a real file gets wrong.
PLAUSIBLE = (
    "", " ", "ana", "bo", "cy", "sales", "ent", "true", "false", "yes", "maybe", "0", "1", "-1",
    "3", "1.5", "1,000", "1e309", "nan", "inf", "-0", "91", "-181", "2026-01-01", "2026-13-40",
    "2026-11-25T14:00:00+00:00", "2026-11-25T14:00:00", "2026-12-01..2026-12-05",
    "2026-12-05..2026-12-01", "Europe/Berlin", "Mars/Base", "UTC", "mon-fri 09:00-17:00",
    "mon-fri 25:00-17:00", "weekdays", "industry:airline;product:crm", ";;", "junior", "senior",
    "rep", "manager", "admin", "acme.com", "https://www.Acme.com/x", "a@b.example", "@", "=1+1",
    "contacted", "won", "lost", "qualified", "knows", "colleague", "rep:ana", "person:x@y.z",
    "01 Jan 2024", "32 Foo 2024", "\x00", "é", "\u202e", "a" * 300,
)  # fmt: skip

cells = st.one_of(st.sampled_from(PLAUSIBLE), st.text(max_size=20))


@st.composite
def csv_file(draw: st.DrawFn, columns: Sequence[str]) -> str:
    """CSV text under (some of) ``columns``, perhaps with an unknown or repeated column."""
    header = draw(st.lists(st.sampled_from(list(columns)), min_size=0, max_size=len(columns)))
    if draw(st.booleans()):
        header = list(dict.fromkeys([*columns, *header]))  # usually the whole header
    if draw(st.integers(0, 9)) == 0:
        header.append(draw(st.sampled_from(["unknown", "Id", " id", ""])))
    width = len(header)
    rows = draw(
        st.lists(
            st.lists(cells, min_size=max(0, width - 2), max_size=width + 1), min_size=0, max_size=6
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def json_file(draw: st.DrawFn, columns: Sequence[str]) -> str:
    """A JSON list of objects keyed by (some of) ``columns`` with any values, or any JSON."""
    if draw(st.booleans()):
        keys = st.sampled_from([*columns, "unknown"])
        records = st.lists(st.dictionaries(keys, json_values, max_size=len(columns)), max_size=4)
        return json.dumps(draw(records))
    return json.dumps(draw(json_values))


def any_file(columns: Sequence[str]) -> st.SearchStrategy[tuple[str, bytes]]:
    """(suffix, content) of a file a user might hand the importer for these columns."""
    return st.one_of(
        csv_file(columns).map(lambda text: (".csv", text.encode())),
        csv_file(columns).map(lambda text: (".csv", b"\xef\xbb\xbf" + text.encode())),
        json_file(columns).map(lambda text: (".json", text.encode())),
        st.text(max_size=200).map(lambda text: (".csv", text.encode())),
        st.binary(max_size=200).map(lambda data: (".csv", data)),
    )
