"""Loading flow files: YAML → validated ``Flow``, every problem reported with the file, the node and
its line; and the ``FlowRegistry`` the IVR server asks for a flow by name on each call.

A registry reads the shipped folder (``ivr/flows``) and any extra folders; a flow in a later folder
replaces one of the same name from an earlier folder (an insurer's own ``default``). Holiday files
(``holidays_*.yaml``) live beside the flows and are not flows.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from ivr.flows import speech
from ivr.flows.schema import (
    BUILTIN_VARIABLES,
    NODE_TYPES,
    CollectNode,
    ConditionNode,
    Flow,
    LookupNode,
    Node,
    RouteNode,
    SayNode,
)
from ivr.flows.templates import referenced_variables
from ivr.prompts.catalog import PromptCatalog

SHIPPED_FOLDER = Path(__file__).parent
NOT_FLOWS = ("holidays_*.yaml",)
_NODE = TypeAdapter(Node)


@dataclass(frozen=True)
class Problem:
    node: str | None
    line: int | None
    message: str


class FlowError(ValueError):
    """A flow file that cannot be used; the message names the file, the node and each problem."""

    def __init__(self, path: Path | str, problems: list[Problem]) -> None:
        self.path, self.problems = Path(path), problems
        lines = []
        for p in problems:
            where = f"node '{p.node}'" if p.node else "flow"
            line = f" (line {p.line})" if p.line else ""
            lines.append(f"{self.path.name}: {where}{line}: {p.message}")
        super().__init__("\n".join(lines))


class UnknownFlow(KeyError):
    """No flow of that name is loaded (the AGI request named a flow that does not exist)."""


def _find_duplicates(node: yaml.Node, owner: str | None, out: list[Problem]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                # Duplicate node ids and duplicate menu digits alike: YAML would keep the last one silently.
                out.append(Problem(owner or name, key.start_mark.line + 1, f"duplicate key '{name}'"))
            seen.add(name)
            _find_duplicates(value, owner, out)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _find_duplicates(item, owner, out)


def _read_yaml(path: Path, text: str) -> tuple[Any, dict[str, int]]:
    """The document and the line of each node id; raises FlowError for bad YAML or duplicate keys."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if not isinstance(root, yaml.MappingNode):
            raise FlowError(path, [Problem(None, 1, "a flow file is a mapping with name, start and nodes")])
        lines: dict[str, int] = {}
        problems: list[Problem] = []
        for key, value in root.value:
            if key.value == "nodes" and isinstance(value, yaml.MappingNode):
                seen: set[str] = set()
                for node_key, node_value in value.value:
                    lines.setdefault(str(node_key.value), node_key.start_mark.line + 1)
                    if str(node_key.value) in seen:
                        problems.append(Problem(str(node_key.value), node_key.start_mark.line + 1,
                                                "duplicate node id"))
                    seen.add(str(node_key.value))
                    _find_duplicates(node_value, str(node_key.value), problems)
            else:
                _find_duplicates(value, None, problems)
        if problems:
            raise FlowError(path, problems)
        return loader.construct_document(root), lines
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise FlowError(path, [Problem(None, line, f"bad YAML: {getattr(exc, 'problem', None) or exc}")]) from exc
    finally:
        loader.dispose()


def _pydantic_problems(node: str | None, line: int | None, exc: ValidationError, skip: int = 0) -> list[Problem]:
    return [Problem(node, line, f"{'.'.join(str(p) for p in e['loc'][skip:]) or 'value'}: {e['msg']}")
            for e in exc.errors()]


def _check_node(node_id: str, node: Any, line: int | None, flow: Flow, *, queues: set[str],
                prompts: PromptCatalog, known_vars: set[str]) -> list[Problem]:
    out: list[Problem] = []

    def problem(message: str) -> None:
        out.append(Problem(node_id, line, message))

    for field, target in node.targets().items():
        if target not in flow.nodes:
            problem(f"'{field}' leads to node '{target}', which does not exist")
    for prompt_id in node.prompt_ids():
        if prompt_id not in prompts:
            problem(f"prompt '{prompt_id}' is not in the prompt catalogue")
    if isinstance(node, SayNode):
        for prompt_id in sorted(speech.PROMPT_IDS - set(prompts.texts)):
            problem(f"number prompt '{prompt_id}' (needed to say values) is not in the prompt catalogue")
    if isinstance(node, RouteNode) and node.queue not in queues:
        problem(f"queue '{node.queue}' is not a known queue ({', '.join(sorted(queues))})")
    if isinstance(node, CollectNode) and node.min_length > node.max_length:
        problem(f"min_length {node.min_length} is more than max_length {node.max_length}")
    if isinstance(node, LookupNode) and node.what in ("policy_by_number", "policy_by_plate") and not node.input:
        problem(f"lookup {node.what} needs 'input', the flow variable holding what the caller entered")
    if isinstance(node, ConditionNode):
        if node.check in ("variable", "language") and node.equals is None:
            problem(f"check '{node.check}' needs 'equals'")
        if node.check == "variable" and not node.subject:
            problem("check 'variable' needs 'subject', the flow variable to compare")
        if node.check == "id_last4_matches" and not node.input:
            problem("check 'id_last4_matches' needs 'input', the flow variable holding the digits entered")
    read = [*node.reads(), *(v for t in node.templates() for v in referenced_variables(t))]
    for name in read:
        if name not in known_vars:
            problem(f"variable '{name}' is never set by any node")
    return out


def _reachable(flow: Flow) -> set[str]:
    seen, todo = {flow.start}, deque([flow.start])
    while todo:
        node = flow.nodes.get(todo.popleft())
        for target in node.targets().values() if node else ():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def parse_flow(path: Path, text: str, *, queues: set[str], prompts: PromptCatalog) -> Flow:
    data, lines = _read_yaml(path, text)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), dict) or not data["nodes"]:
        raise FlowError(path, [Problem(None, None, "a flow needs 'nodes', a mapping of node id to node")])
    problems: list[Problem] = []
    nodes: dict[str, Any] = {}
    for node_id, raw in data["nodes"].items():
        node_id, line = str(node_id), lines.get(str(node_id))
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in NODE_TYPES:
            problems.append(Problem(node_id, line, f"unknown node type {kind!r} (known: {', '.join(sorted(NODE_TYPES))})"))
            continue
        try:
            nodes[node_id] = _NODE.validate_python(raw)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(node_id, line, exc, skip=1))
    try:
        flow = Flow.model_validate({**data, "nodes": {}, "source": str(path)}).model_copy(update={"nodes": nodes})
    except ValidationError as exc:
        raise FlowError(path, problems + _pydantic_problems(None, None, exc)) from exc
    if problems:
        raise FlowError(path, problems)
    if flow.start not in flow.nodes:
        problems.append(Problem(None, None, f"start node '{flow.start}' does not exist"))
    if flow.settings.default_queue not in queues:
        problems.append(Problem(None, None, f"default queue '{flow.settings.default_queue}' is not a known queue"))
    known_vars = set(BUILTIN_VARIABLES) | {v for n in flow.nodes.values() for v in n.stores()}
    for node_id, node in flow.nodes.items():
        problems += _check_node(node_id, node, lines.get(node_id), flow, queues=queues, prompts=prompts,
                                known_vars=known_vars)
    reachable = _reachable(flow) if flow.start in flow.nodes else set(flow.nodes)
    for node_id in flow.nodes:
        if node_id not in reachable:
            problems.append(Problem(node_id, lines.get(node_id), f"unreachable from start node '{flow.start}'"))
    if problems:
        raise FlowError(path, problems)
    return flow


def load_flow_file(path: Path, *, queues: set[str], prompts: PromptCatalog) -> Flow:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError(path, [Problem(None, None, f"cannot read: {exc}")]) from exc
    return parse_flow(path, text, queues=queues, prompts=prompts)


def flow_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []  # an extra folder nobody has created yet holds no flows
    return sorted(p for p in folder.glob("*.yaml") if not any(p.match(pattern) for pattern in NOT_FLOWS))


class FlowRegistryError(Exception):
    """The flows could not be loaded at start-up; the message lists every problem."""


class FlowRegistry:
    """The flows by name. ``reload`` swaps in a complete new set or nothing at all."""

    def __init__(self, folders: Iterable[Path], *, queues: set[str], prompts: PromptCatalog) -> None:
        self.folders = [Path(f) for f in folders]
        self.queues, self.prompts = set(queues), prompts
        self._flows: dict[str, Flow] = {}
        errors = self.reload()
        if errors:
            raise FlowRegistryError("\n".join(errors))

    def _load_all(self) -> tuple[dict[str, Flow], list[str]]:
        flows: dict[str, Flow] = {}
        errors: list[str] = []
        for folder in self.folders:
            in_folder: dict[str, Path] = {}
            for path in flow_files(folder):
                try:
                    flow = load_flow_file(path, queues=self.queues, prompts=self.prompts)
                except FlowError as exc:
                    errors.append(str(exc))
                    continue
                if flow.name in in_folder:
                    errors.append(f"{path.name}: flow: name '{flow.name}' is already used by {in_folder[flow.name].name}")
                in_folder[flow.name] = path
                flows[flow.name] = flow
        return flows, errors

    def reload(self) -> list[str]:
        """Load every flow again; on any error keep the flows in use and return the errors."""
        flows, errors = self._load_all()
        if not errors:
            self._flows = flows  # one assignment: a call sees the old set or the new one, never a mix
        return errors

    async def reload_async(self) -> list[str]:
        return await asyncio.to_thread(self.reload)  # file reads stay off the event loop

    def get(self, name: str) -> Flow:
        try:
            return self._flows[name]
        except KeyError:
            raise UnknownFlow(name) from None

    def names(self) -> list[str]:
        return sorted(self._flows)
