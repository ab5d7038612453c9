"""Attachments: files stored outside the database by SHA-256, size- and type-checked, virus-scan hook."""
