"""Files in and out: reps, teams, accounts, leads and relationships read; assignments written.

Pure: nothing here touches the database. Readers return domain objects or raise one
``InputFileError`` carrying every problem in the file, each naming the file, the row (counted as
in a spreadsheet: header = row 1) and the column. Column names are the contract in DESIGN.md
"File formats".
"""

from leadrelay.files.assignments import ASSIGNMENT_COLUMNS, AssignmentRow, write_assignments
from leadrelay.files.history import HISTORY_COLUMNS, HistoryRow, read_history
from leadrelay.files.leads import (
    EXPORT_HEADERS,
    LEAD_COLUMNS,
    coerce_attributes,
    leads_from_csv_text,
    parse_mapping,
    read_leads,
)
from leadrelay.files.org import (
    ACCOUNT_COLUMNS,
    REP_COLUMNS,
    TEAM_COLUMNS,
    accounts_from_records,
    read_accounts,
    read_reps,
    read_teams,
    reps_from_records,
    teams_from_records,
)
from leadrelay.files.relationships import (
    CONNECTIONS_COLUMNS,
    CRM_COLUMNS,
    GENERIC_COLUMNS,
    RELATIONSHIP_FORMATS,
    RelationshipFile,
    read_relationships,
)

__all__ = [
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
