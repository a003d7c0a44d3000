"""The public API of leadrelay.files is exactly its __all__."""

from __future__ import annotations

import leadrelay.files


def test_public_api_is_exactly_all() -> None:
    public = {name for name in vars(leadrelay.files) if not name.startswith("_")}
    modules = {"assignments", "common", "history", "leads", "org", "outcomes", "relationships"}
    assert public - modules == set(leadrelay.files.__all__)
    assert sorted(leadrelay.files.__all__) == sorted(
        [
            "ACCOUNT_COLUMNS",
            "ASSIGNMENT_COLUMNS",
            "CONNECTIONS_COLUMNS",
            "CRM_COLUMNS",
            "EXPORT_HEADERS",
            "GENERIC_COLUMNS",
            "HISTORY_COLUMNS",
            "LEAD_COLUMNS",
            "RELATIONSHIP_FORMATS",
            "REP_COLUMNS",
            "TEAM_COLUMNS",
            "AssignmentRow",
            "HistoryRow",
            "RelationshipFile",
            "accounts_from_records",
            "coerce_attributes",
            "leads_from_csv_text",
            "parse_mapping",
            "read_accounts",
            "read_history",
            "read_leads",
            "read_relationships",
            "read_reps",
            "read_teams",
            "reps_from_records",
            "teams_from_records",
            "write_assignments",
        ]
    )
