"""The Asterisk Manager Interface: framing, the connection, and typed events at the door."""
