"""The seed rows of the code tables, read from ``seed_zh.yaml`` (used by migration 0004)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SEED_FILE = Path(__file__).with_name("seed_zh.yaml")


def seed_rows(path: Path = SEED_FILE) -> list[dict[str, Any]]:
    """Flat ``code_items`` rows: parents before their children, sort order as listed in the file."""
    tables: dict[str, list[dict[str, Any]]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    for table, items in tables.items():
        order = 0
        for item in items:
            order += 10
            rows.append({"table_name": table, "code": str(item["code"]), "label": str(item["label"]),
                         "parent_code": None, "sort_order": order, "active": True})
            for child in item.get("children", ()):
                order += 10
                rows.append({"table_name": table, "code": str(child["code"]), "label": str(child["label"]),
                             "parent_code": str(item["code"]), "sort_order": order, "active": True})
    return rows
