"""FastAGI for ``lianluo ivr``: Asterisk's dialplan hands each inbound call to ``AGI(agi://host:4573/<flow>)``
and this package talks the protocol: ``protocol`` (env block, replies, argument quoting), ``session`` (one
call's command/reply exchange), ``channel`` (the flows' ``CallChannel`` on top of a session) and ``server``
(the asyncio listener running one handler task per call).

We write our own server instead of using panoramisk's ``fast_agi``: in panoramisk 1.4 its handler spins at
100% CPU when a client sends part of the env and disconnects, it fails on routes that are not coroutines, and
it has no per-command timeout. Here every read is bounded (line length, env size, env deadline, per-command
timeout) and an EOF anywhere ends the connection.
"""
