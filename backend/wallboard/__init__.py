"""Supervisor wallboard: per-queue and per-agent figures of today, folded from the CTI's bus events."""
