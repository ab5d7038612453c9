"""Queue agents of one Asterisk node: their states, kept from the PBX's own member events."""
