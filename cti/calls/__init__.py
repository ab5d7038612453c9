"""Live calls of one Asterisk node: channels grouped into calls, and the platform events they produce."""
