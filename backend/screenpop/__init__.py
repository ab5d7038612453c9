"""The screen pop: a ringing caller's whole picture (IVR path, directory, tickets, callbacks, risk) and quick actions."""
