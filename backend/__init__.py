"""Lianluo backend: the database owner and everything business (tickets, workflow, auth, directory, …)."""
