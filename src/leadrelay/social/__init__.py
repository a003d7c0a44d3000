"""Social proximity: the relationship graph of reps, employees, contacts and companies.

Pure: no database. ``files.relationships`` turns exports into ``Edge``s, ``store.relationships``
keeps them, and ``SocialGraph.build`` makes the graph the ``social`` factor and strategy query.
"""

from leadrelay.social.edges import (
    ALIAS,
    DEFAULT_STRENGTH,
    KNOWS,
    OWNS,
    OWNS_STRENGTH,
    WORKS_AT,
    WORKS_AT_STRENGTH,
    Edge,
    linkedin_strength,
)
from leadrelay.social.graph import DEFAULT_MAX_HOPS, SocialGraph
from leadrelay.social.keys import (
    NodeKind,
    company_key,
    domain_key,
    email_key,
    name_key,
    rep_key,
    url_key,
)

__all__ = [
    "ALIAS",
    "DEFAULT_MAX_HOPS",
    "DEFAULT_STRENGTH",
    "KNOWS",
    "OWNS",
    "OWNS_STRENGTH",
    "WORKS_AT",
    "WORKS_AT_STRENGTH",
    "Edge",
    "NodeKind",
    "SocialGraph",
    "company_key",
    "domain_key",
    "email_key",
    "linkedin_strength",
    "name_key",
    "rep_key",
    "url_key",
]
