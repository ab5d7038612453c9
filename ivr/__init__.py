"""IVR: the FastAGI server Asterisk hands inbound calls to; runs declarative call flows and sets the
channel variables that route the call (``lianluo ivr``)."""
