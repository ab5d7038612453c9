"""Complaint fund (投诉基金): per-org accounts, usage linked to tickets, approval, settlement."""
