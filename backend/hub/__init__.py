"""The websocket hub: pushes bus events to the browsers they are for, with replay after a reconnect."""
