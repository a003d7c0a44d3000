"""The HTTP API (FastAPI): ``create_app`` builds it; ``leadrelay serve`` runs it."""

from leadrelay.api.app import create_app

__all__ = ["create_app"]
