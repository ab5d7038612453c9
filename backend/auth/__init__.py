"""Users, roles, permissions, login sessions and the request's principal."""
