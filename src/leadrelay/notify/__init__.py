"""Telling people: which messages a decision causes, and delivering them (email, webhooks)."""
