"""The demo: a receiver that prints deliveries, and ``make run``."""
