"""Rendering of the value templates flows put on the channel (``{customer.customer_id}``): one
renderer for every node, so the rules (missing → empty, booleans → 1/0) hold everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from ivr.flows.schema import TEMPLATE_FIELD


def referenced_variables(template: str) -> list[str]:
    """The flow variables (first name of each ``{a.b}``) a template reads."""
    return [match.group(1) for match in TEMPLATE_FIELD.finditer(template)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return ",".join(_text(v) for v in value)
    return str(value)


def _resolve(variables: Mapping[str, Any], name: str, path: str) -> Any:
    value = variables.get(name)
    for attribute in filter(None, path.split(".")):
        if value is None:
            return None
        value = value.get(attribute) if isinstance(value, Mapping) else getattr(value, attribute, None)
    return value


def render(template: str, variables: Mapping[str, Any]) -> str:
    return TEMPLATE_FIELD.sub(lambda m: _text(_resolve(variables, m.group(1), m.group(2))), template)
