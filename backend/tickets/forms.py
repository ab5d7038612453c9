"""The entry form of each ticket type, for the console to render: which fields, labelled how, of what kind.

Derived from the models that validate a registration — ``TicketFields`` for the common fields and the type's
model in backend.tickets.details for its own — so a field added, made required or lengthened there shows up
here without a second list to keep in step. Only what a model cannot say (which code table a code comes from,
which field filters it, the common fields' labels) is written down below.
"""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from annotated_types import MaxLen
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.codes.models import CodeItem
from backend.directory.identity import ValidIdNumber, ValidPhone, ValidPlate
from backend.tickets.details import MODELS
from backend.tickets.models import TicketType
from backend.tickets.schemas import TicketFields

Kind = Literal["text", "textarea", "datetime", "bool", "tristate", "code", "phone", "id_number", "plate", "int"]


class FormField(BaseModel):
    name: str  # path in the POST /api/tickets body: "subject", "details.cause", "details.respondent.staff_name"
    label: str
    kind: Kind
    required: bool  # on submission; a draft may leave it empty
    max_length: int | None = None
    code_table: str | None = None  # kind "code": items from GET /api/codes/<code_table>
    parent: str | None = None  # kind "code": the field whose value filters the items by parent_code
    group: Literal["common", "details"]


class TicketForm(BaseModel):
    type: TicketType
    label: str
    fields: list[FormField]


# Every type's form starts with these, in this order (TicketFields has no labels of its own).
COMMON_LABELS = {"subject": "事由", "demand": "诉求", "complainant_name": "来电人/投诉人姓名",
                 "complainant_phone": "联系电话", "complainant_id_number": "证件号码", "policy_number": "保单号",
                 "channel": "渠道"}
# Code fields: their table, and the field whose value filters them (None: top-level items only).
CODE_FIELDS: dict[str, tuple[str, str | None]] = {
    "channel": ("channel", None),
    "details.cause": ("complaint_cause", None),
    "details.sub_cause": ("complaint_cause", "details.cause"),
    "details.line_of_business": ("line_of_business", None),
}
# Validated types and the input that fits them; compared with the annotation as declared.
SEMANTIC_KINDS: tuple[tuple[Any, Kind], ...] = ((ValidPhone, "phone"), (ValidIdNumber, "id_number"),
                                                (ValidPlate, "plate"), (AwareDatetime, "datetime"), (int, "int"))
TEXTAREA_FROM = 1000  # free text allowed to be this long gets a multi-line box
ALWAYS_REQUIRED = {"subject"}


class FormDefinitionError(RuntimeError):
    """A model field the form cannot describe (no label, or a type with no input kind)."""


def _optional(hint: Any) -> tuple[Any, bool]:
    """``X | None`` → (X, True); anything else → (hint, False)."""
    if get_origin(hint) in (Union, types.UnionType):
        rest = [a for a in get_args(hint) if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return hint, False


def _max_length(info: FieldInfo, hint: Any) -> int | None:
    metadata = list(info.metadata)
    if get_origin(hint) is Annotated:  # ValidPlate | None keeps its length inside the alias
        for extra in get_args(hint)[1:]:
            metadata.extend(extra.metadata if isinstance(extra, FieldInfo) else [extra])
    return next((m.max_length for m in metadata if isinstance(m, MaxLen)), None)


def _fields(model: type[BaseModel], prefix: str, labels: dict[str, str] | None, names: list[str],
            required: bool, group: Literal["common", "details"]) -> list[FormField]:
    hints = get_type_hints(model, include_extras=True)
    out: list[FormField] = []
    for name in names:
        info, path = model.model_fields[name], prefix + name
        label = labels[name] if labels is not None else info.title
        if not label:
            raise FormDefinitionError(f"{model.__name__}.{name} has no label: give it Field(title=...)")
        hint, optional = _optional(hints[name])
        needed = required and (info.is_required() or path in ALWAYS_REQUIRED)
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            out.extend(_fields(hint, f"{path}.", None, list(hint.model_fields), needed, group))
            continue
        max_length = _max_length(info, hint)
        code_table, parent = CODE_FIELDS.get(path, (None, None))
        kind: Kind | None = next((k for t, k in SEMANTIC_KINDS if hint == t), None)
        if hint is bool:
            kind = "tristate" if optional else "bool"
        elif hint is str:
            kind = "code" if code_table else "textarea" if (max_length or 0) >= TEXTAREA_FROM else "text"
        if kind is None:
            raise FormDefinitionError(f"{model.__name__}.{name}: no form input for {hints[name]!r}")
        out.append(FormField(name=path, label=label, kind=kind, required=needed, max_length=max_length,
                             code_table=code_table, parent=parent, group=group))
    return out


@cache
def type_fields(ticket_type: TicketType) -> tuple[FormField, ...]:
    """The fields of ``ticket_type``'s form: the common ones, then the type's own (nested ones flattened)."""
    details = MODELS[ticket_type]
    return (*_fields(TicketFields, "", COMMON_LABELS, list(COMMON_LABELS), True, "common"),
            *_fields(details, "details.", None, list(details.model_fields), True, "details"))


async def ticket_forms(session: AsyncSession) -> list[TicketForm]:
    """Every type's form, in the order and with the labels of code table business_type (a type missing from
    it comes last, labelled by its code)."""
    items = (await session.scalars(select(CodeItem).where(CodeItem.table_name == "business_type")
                                   .order_by(CodeItem.sort_order, CodeItem.id))).all()
    labels = {i.code: i.label for i in items}
    position = {code: n for n, code in enumerate(labels)}
    ordered = sorted(TicketType, key=lambda t: position.get(t.value, len(position)))
    return [TicketForm(type=t, label=labels.get(t.value, t.value), fields=list(type_fields(t))) for t in ordered]
