"""Customer directory: customers, policies and claims, from Lianluo's tables or the insurer's systems over HTTP."""
