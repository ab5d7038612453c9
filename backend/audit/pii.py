"""Personal-information masking: the one mechanism every API response with C2 data goes through.

Output schemas mark sensitive fields with the ``IdNumber``, ``Phone`` or ``BankAccount`` types.
:func:`present` masks them for callers without ``pii.unmask``; for callers with it, it leaves them
in clear and writes one audit record per subject type naming every subject and field revealed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, TypeVar, get_args, get_origin

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.services import record
from backend.auth.permissions import Permission
from backend.auth.principal import Principal


class PiiKind(enum.StrEnum):
    id_number = "id_number"
    phone = "phone"
    bank_account = "bank_account"
    person_name = "person_name"  # a person's name where it identifies a payee (fund usage)


@dataclass(frozen=True)
class Pii:
    kind: PiiKind


IdNumber = Annotated[str, Pii(PiiKind.id_number)]
Phone = Annotated[str, Pii(PiiKind.phone)]
BankAccount = Annotated[str, Pii(PiiKind.bank_account)]
PersonName = Annotated[str, Pii(PiiKind.person_name)]


def mask(kind: PiiKind, value: str) -> str:
    if not value:
        return value
    if kind is PiiKind.id_number:
        if len(value) == 18:
            return value[:6] + "*" * 8 + value[-4:]
        return value[:1] + "*" * max(len(value) - 2, 1) + value[-1:]
    if kind is PiiKind.phone:
        if len(value) == 11 and value.isdigit():
            return value[:3] + "****" + value[-4:]
        if "-" in value:  # landline 010-12345678
            area, local = value.split("-", 1)
            return f"{area}-" + "*" * max(len(local) - 4, 1) + local[-4:]
        return "*" * max(len(value) - 4, 1) + value[-4:]
    if kind is PiiKind.person_name:  # 张三 → 张*, 欧阳娜娜 → 欧***
        return value[:1] + "*" * max(len(value) - 1, 1)
    return "****" + value[-4:]


@cache
def _pii_fields(model: type[BaseModel]) -> tuple[dict[str, PiiKind], tuple[str, ...]]:
    """(sensitive field → kind, fields holding nested models) of a schema, computed once per class."""
    sensitive: dict[str, PiiKind] = {}
    nested: list[str] = []
    for name, info in model.model_fields.items():
        # ``Phone`` arrives as field metadata; ``Phone | None`` keeps its Annotated inside the Union.
        metadata = list(info.metadata)
        for arg in get_args(info.annotation):
            if get_origin(arg) is Annotated:
                metadata.extend(arg.__metadata__)
        kinds = [m.kind for m in metadata if isinstance(m, Pii)]
        if kinds:
            sensitive[name] = kinds[0]
            continue
        ann = info.annotation
        inner = get_args(ann) if get_origin(ann) is not None else (ann,)
        if any(isinstance(t, type) and issubclass(t, BaseModel) for t in inner):
            nested.append(name)
    return sensitive, tuple(nested)


M = TypeVar("M", bound=BaseModel)


class _Reveals:
    def __init__(self) -> None:
        self.by_type: dict[str, dict[str, set[str]]] = {}

    def add(self, subject_type: str, subject_id: str, field: str) -> None:
        self.by_type.setdefault(subject_type, {}).setdefault(subject_id, set()).add(field)


def _walk(obj: Any, unmask: bool, reveals: _Reveals, parent: tuple[str, str] | None = None) -> Any:
    if isinstance(obj, list):
        return [_walk(o, unmask, reveals, parent) for o in obj]
    if not isinstance(obj, BaseModel):
        return obj
    sensitive, nested = _pii_fields(type(obj))
    update: dict[str, Any] = {}
    if "id" in type(obj).model_fields or parent is None:
        subject_type = getattr(obj, "__pii_subject__", type(obj).__name__.lower())
        subject_id = str(getattr(obj, "id", ""))
    else:  # a part of its parent (a ticket's type fields, say): what it reveals is the parent's
        subject_type, subject_id = parent
    for name, kind in sensitive.items():
        value = getattr(obj, name)
        if not value:
            continue
        if unmask:
            reveals.add(subject_type, subject_id, name)
        else:
            update[name] = mask(kind, value)
    for name in nested:
        update[name] = _walk(getattr(obj, name), unmask, reveals, (subject_type, subject_id))
    return obj.model_copy(update=update) if update else obj


async def present(obj: M | list[M], principal: Principal, session: AsyncSession) -> M | list[M]:
    """Mask ``obj`` for ``principal``, or audit that it sees it in clear. The audit row commits with the request."""
    unmask = principal.can(Permission.pii_unmask)
    reveals = _Reveals()
    out = _walk(obj, unmask, reveals)
    for subject_type, subjects in reveals.by_type.items():
        ids = sorted(subjects)
        await record(
            session,
            principal,
            action="pii.view",
            subject_type=subject_type,
            subject_id=ids[0] if len(ids) == 1 else None,
            detail={"subjects": {sid: sorted(f) for sid, f in list(subjects.items())[:500]}, "count": len(ids)},
        )
    return out
