"""The agent console: server-rendered page shells (Jinja2) and the static ES modules and CSS they load.

The pages hold no data and no authorisation logic of their own. Their scripts talk to the JSON API
under ``/api`` with the session cookie, so what an agent may see is decided there, once.
"""
