"""The IVR's prompt catalogue: every Mandarin text the caller hears (``zh.yaml``, id → text), and the
tool that turns it into the 8 kHz sound files Asterisk plays (``generate``)."""
