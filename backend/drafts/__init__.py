"""Form drafts: an agent's half-filled form autosaved to the server, per user and form (not a ticket)."""
