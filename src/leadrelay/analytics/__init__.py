"""Measuring routing: KPIs by dimension (and, later, fairness, experiments, simulation)."""
