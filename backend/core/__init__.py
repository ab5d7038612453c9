"""Shared infrastructure: settings, database session, event bus, clock, logging, error mapping."""
