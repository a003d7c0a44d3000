"""Routing strategies: one module each, listed once in ``registry.py``."""
