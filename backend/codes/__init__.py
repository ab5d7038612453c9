"""Code tables: shared reference data users configure (complaint causes, lines of business, channels, …)."""
