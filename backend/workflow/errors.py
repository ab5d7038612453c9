"""What can go wrong with a workflow action, as problem details (translated once at the HTTP edge)."""

from __future__ import annotations

from backend.core.problems import Conflict, Forbidden, Invalid


class NotAssignee(Forbidden):
    title, code = "该工单当前不在您的待办中", "not-assignee"


class ActionNotAllowed(Conflict):
    title, code = "当前环节不能执行此操作", "action-not-allowed"


class PrerequisiteMissing(Conflict):
    title, code = "尚未完成前置操作", "prerequisite-missing"


class BadTarget(Invalid):
    title, code = "转办目标无效", "bad-target"


class DeadlineRuleBroken(Conflict):
    title, code = "不符合办理时限规定", "deadline-rule"


def invalid(field: str, message: str) -> Invalid:
    return Invalid(message, errors=[{"field": field, "type": "missing", "message": message}])
