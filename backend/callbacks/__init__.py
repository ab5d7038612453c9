"""Callback requests: callers who asked to be called back (IVR out of hours, or by choice), waiting
for the campaign dialer."""
