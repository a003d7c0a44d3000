"""Web pages for people: sign in, rep inbox and claim pool, manager console, lead trace,
dashboard and policy editor. Server-rendered (Jinja2) with htmx; every asset served locally."""

from leadrelay.web.pages import router
from leadrelay.web.render import STATIC_DIR

__all__ = ["STATIC_DIR", "router"]
