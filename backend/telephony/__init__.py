"""Telephony control for users: click-to-call, hang up, transfer, record, ready/not ready, queue login.
Each request becomes a command to the PBX node's ``cti`` over the bus and waits for its answer."""
