"""``lianluo worker``: periodic background jobs that share their work through the database."""
