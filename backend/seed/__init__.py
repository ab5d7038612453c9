"""Deterministic demo data for Lianluo: an insurer's org tree, demo users of every role, and customers
with policies and claims that look real (valid ID numbers, mobiles, plates; statuses that fit the dates).

Entry points live in :mod:`backend.seed.builder` (``seed``, ``is_seeded``, ``SeedReport``, ``AlreadySeeded``).
"""
