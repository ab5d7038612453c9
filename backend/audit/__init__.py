"""Audit log: who saw or changed what (unmasked personal data, logins, administration)."""
