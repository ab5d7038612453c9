"""Flow loading (every validation error names file, node and problem), the registry's atomic reload,
and engine behaviour not covered by the default flow (transfer, say, templates, loops)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ivr.flows.loader import SHIPPED_FOLDER, FlowError, FlowRegistry, FlowRegistryError, UnknownFlow, load_flow_file
from ivr.flows.schema import Flow
from tests.test_ivr_flows_fakes import CATALOG, QUEUES, call, customer

MINIMAL = """\
name: tiny
start: menu
nodes:
  menu:
    type: menu
    prompts: [main-menu]
    options: {"1": to_queue, "2": bye}
    fallback: bye
  to_queue:
    type: route
    queue: complaints
    priority: 3
  bye:
    type: hangup
    prompts: [goodbye]
"""


def write(folder: Path, text: str, name: str = "tiny.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(path: Path) -> Flow:
    return load_flow_file(path, queues=QUEUES, prompts=CATALOG)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(FlowError) as caught:
        load(write(tmp_path, text))
    return str(caught.value)


def test_given_the_minimal_flow_when_loading_then_it_is_valid(tmp_path: Path) -> None:
    flow = load(write(tmp_path, MINIMAL))
    assert flow.name == "tiny" and set(flow.nodes) == {"menu", "to_queue", "bye"}


def test_given_an_unknown_node_type_when_loading_then_file_node_and_type_are_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL.replace("type: hangup", "type: hang_up"))
    assert "tiny.yaml: node 'bye' (line 13): unknown node type 'hang_up'" in message


def test_given_a_reference_to_a_missing_node_when_loading_then_it_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL.replace('"2": bye', '"2": byebye'))
    assert "tiny.yaml: node 'menu' (line 4): 'options.2' leads to node 'byebye', which does not exist" in message


def test_given_an_unreachable_node_when_loading_then_it_is_named(tmp_path: Path) -> None:
    text = MINIMAL + "  orphan:\n    type: hangup\n"
    assert "tiny.yaml: node 'orphan' (line 16): unreachable from start node 'menu'" in error_of(tmp_path, text)


def test_given_a_prompt_missing_from_the_catalogue_when_loading_then_it_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL.replace("[goodbye]", "[see-you]"))
    assert "tiny.yaml: node 'bye' (line 13): prompt 'see-you' is not in the prompt catalogue" in message


def test_given_an_unknown_queue_when_loading_then_it_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL.replace("queue: complaints", "queue: sales"))
    assert "tiny.yaml: node 'to_queue' (line 9): queue 'sales' is not a known queue" in message


def test_given_bad_yaml_when_loading_then_the_line_is_given(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL.replace("    priority: 3", "    priority: [3"))
    assert message.startswith("tiny.yaml: flow (line ") and "bad YAML" in message


def test_given_duplicate_digits_when_loading_then_the_menu_node_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL.replace('"2": bye}', '"2": bye, 1: bye}'))
    assert "tiny.yaml: node 'menu' (line 7): duplicate key '1'" in message


def test_given_a_duplicate_node_id_when_loading_then_it_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL + "  bye:\n    type: hangup\n")
    assert "node 'bye' (line 16): duplicate node id" in message


def test_given_a_missing_field_when_loading_then_field_and_node_are_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, MINIMAL.replace("    fallback: bye\n", ""))
    assert "tiny.yaml: node 'menu' (line 4): fallback: Field required" in message


def test_given_a_non_ivr_channel_variable_when_loading_then_it_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace("    priority: 3\n", "    priority: 3\n    channel: {SECRET: x}\n")
    assert "must be IVR_" in error_of(tmp_path, text)


def test_given_a_template_of_an_unset_variable_when_loading_then_it_is_named(tmp_path: Path) -> None:
    text = MINIMAL.replace("    priority: 3\n", "    priority: 3\n    channel: {IVR_POLICY: '{policy.policy_number}'}\n")
    assert "node 'to_queue' (line 9): variable 'policy' is never set by any node" in error_of(tmp_path, text)


def test_given_the_shipped_folder_when_loading_then_every_prompt_of_every_flow_is_in_the_catalogue() -> None:
    registry = FlowRegistry([SHIPPED_FOLDER], queues=QUEUES, prompts=CATALOG)
    for name in registry.names():
        for node in registry.get(name).nodes.values():
            assert set(node.prompt_ids()) <= set(CATALOG.texts), name


def test_given_an_extra_folder_when_it_redefines_default_then_it_replaces_the_shipped_one(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL.replace("name: tiny", "name: default"), "default.yaml")
    registry = FlowRegistry([SHIPPED_FOLDER, tmp_path], queues=QUEUES, prompts=CATALOG)
    assert set(registry.get("default").nodes) == {"menu", "to_queue", "bye"}
    with pytest.raises(UnknownFlow):
        registry.get("nope")


def test_given_a_broken_flow_at_start_up_when_creating_the_registry_then_it_fails_loudly(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL.replace("queue: complaints", "queue: sales"))
    with pytest.raises(FlowRegistryError, match="queue 'sales'"):
        FlowRegistry([tmp_path], queues=QUEUES, prompts=CATALOG)


async def test_given_a_reload_that_fails_when_reloading_then_the_old_flows_stay_and_errors_are_reported(
        tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    registry = FlowRegistry([tmp_path], queues=QUEUES, prompts=CATALOG)
    before = registry.get("tiny")
    path.write_text(MINIMAL.replace("type: route", "type: rout"), encoding="utf-8")
    errors = await registry.reload_async()
    assert len(errors) == 1 and "unknown node type 'rout'" in errors[0]
    assert registry.get("tiny") is before


async def test_given_a_call_in_progress_when_reloading_then_it_keeps_its_flow(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    registry = FlowRegistry([tmp_path], queues=QUEUES, prompts=CATALOG)
    in_progress = registry.get("tiny")
    path.write_text(MINIMAL.replace("priority: 3", "priority: 4"), encoding="utf-8")
    assert registry.reload() == []
    assert registry.get("tiny").nodes["to_queue"].priority == 4  # type: ignore[union-attr]
    c = await call(in_progress, ["1"])
    assert (c.result.queue, c.result.priority) == ("complaints", 3)


LOOP = """\
name: loop
start: a
settings: {max_steps: 20, default_queue: general-service}
nodes:
  a: {type: play, prompts: [welcome], next: b}
  b: {type: play, prompts: [welcome], next: a}
"""


async def test_given_a_looping_flow_when_running_then_the_step_limit_routes_to_the_default_queue(
        tmp_path: Path) -> None:
    c = await call(load(write(tmp_path, LOOP)), [])
    assert (c.result.outcome, c.result.queue) == ("error", "general-service")
    assert len(c.result.path) == 20 and "step limit" in c.result.detail


FEATURES = """\
name: features
start: who
nodes:
  who: {type: lookup, what: customer_by_caller, store: customer, found: lang, not_found: bye}
  lang: {type: condition, check: language, equals: yue, then: to_desk, else: remember}
  remember:
    type: set
    variables: {tier: "{customer.level}"}
    channel: {IVR_TIER: "{tier}", IVR_FROM: "{caller}"}
    next: tier
  tier: {type: condition, check: variable, subject: tier, equals: gold, then: say_it, else: bye}
  say_it: {type: say, kind: number, value: "{customer.customer_id}", prompts: [welcome], next: bye}
  to_desk: {type: transfer, extension: "1005", prompts: [connecting-agent]}
  bye: {type: hangup, prompts: [goodbye], outcome: self_service}
"""


async def test_given_a_cantonese_speaker_when_checking_language_then_transferred_to_an_extension(
        tmp_path: Path) -> None:
    c = await call(load(write(tmp_path, FEATURES)), [], customers={"13800000001": customer(language="yue")})
    assert (c.result.outcome, c.channel.variables) == ("transferred", {"IVR_TRANSFER": "1005"})


async def test_given_templates_when_setting_variables_then_values_are_rendered_and_said(tmp_path: Path) -> None:
    c = await call(load(write(tmp_path, FEATURES)), [], customers={"13800000001": customer(level="gold")})
    assert c.channel.variables == {"IVR_TIER": "gold", "IVR_FROM": "13800000001"}
    assert c.channel.played == ["welcome", "digit-7", "goodbye"]
    assert c.result.outcome == "self_service"
