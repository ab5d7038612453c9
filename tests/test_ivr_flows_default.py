"""The shipped default flow, branch by branch, against a scripted caller and in-memory services."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ivr.flows import speech
from tests.test_ivr_flows_fakes import AFTER_HOURS, CALLER, HANGUP, call, customer, policy, shipped_registry

FLOW = shipped_registry().get("default")


def nodes(c) -> list[str]:  # type: ignore[no-untyped-def]
    return [step.node for step in c.result.path]


async def test_given_an_in_force_policy_when_reporting_a_claim_then_claims_queue_with_priority_8() -> None:
    c = await call(FLOW, ["1", "2026123456"], policies={"2026123456": policy()})
    assert (c.result.outcome, c.result.queue, c.result.priority) == ("queued", "claims", 8)
    v = c.channel.variables
    assert v["IVR_QUEUE"] == "claims" and v["QUEUE_PRIO"] == "8" and v["IVR_PRIORITY"] == "8"
    assert v["IVR_CHOICE"] == "1" and v["IVR_SERVICE"] == "报案" and v["IVR_POLICY"] == "2026123456"
    assert "claim-will-be-taken" in c.channel.played
    assert c.channel.answered and not c.channel.hung_up
    assert c.result.variables == v


async def test_given_an_unknown_policy_when_the_caller_chooses_the_plate_then_the_plate_finds_the_policy() -> None:
    c = await call(FLOW, ["1", "9999999999", "1", "12345"], policies={"2026123456": policy()})
    assert c.result.queue == "claims"
    assert "policy-not-found" in c.channel.played and "enter-plate-digits" in c.channel.played
    lookups = [(s.lookup, s.found) for s in c.result.path if s.lookup]
    assert lookups == [("customer_by_caller", False), ("policy_by_number", False), ("policy_by_plate", True)]


async def test_given_the_claim_prompt_when_pressing_star_then_plate_digits_are_asked_at_once() -> None:
    c = await call(FLOW, ["1", "*", "12345"], policies={"2026123456": policy()})
    assert "claim_plate" in nodes(c) and "claim_lookup" not in nodes(c)
    assert c.result.queue == "claims"


async def test_given_neither_policy_nor_plate_found_when_reporting_then_the_claim_is_still_taken() -> None:
    c = await call(FLOW, ["1", "9999999999", "1", "54321"])
    assert "policy-not-identified" in c.channel.played
    assert (c.result.queue, c.result.priority) == ("claims", 8)
    assert "IVR_POLICY" not in c.channel.variables


async def test_given_a_lapsed_policy_when_reporting_then_told_and_routed_to_consultation() -> None:
    c = await call(FLOW, ["1", "2026123456"], policies={"2026123456": policy(in_force=False)})
    assert "policy-not-in-force" in c.channel.played
    assert (c.result.queue, c.result.priority) == ("consultation", 5)
    assert c.channel.variables["IVR_POLICY"] == "2026123456"


async def test_given_a_claim_at_night_when_reporting_then_it_is_still_queued() -> None:
    c = await call(FLOW, ["1", "2026123456"], at=AFTER_HOURS, policies={"2026123456": policy()})
    assert c.result.queue == "claims"


async def test_given_a_first_complaint_when_choosing_2_then_complaints_queue_priority_5() -> None:
    c = await call(FLOW, ["2"], customers={CALLER: customer()})
    assert (c.result.queue, c.result.priority) == ("complaints", 5)
    v = c.channel.variables
    assert v["IVR_SERVICE"] == "投诉" and v["IVR_CUSTOMER_ID"] == "7" and v["IVR_VIP"] == "0"
    assert "IVR_REPEAT" not in v and "IVR_RISK" not in v


async def test_given_a_repeat_complainant_when_complaining_then_priority_9_and_repeat_flag() -> None:
    c = await call(FLOW, ["2"], repeat_phones={CALLER})
    assert (c.result.queue, c.result.priority) == ("complaints", 9)
    assert c.channel.variables["IVR_REPEAT"] == "1"
    assert [(s.lookup, s.found) for s in c.result.path if s.lookup == "repeat_complainant"] == [
        ("repeat_complainant", True)]


async def test_given_a_risk_flagged_customer_when_complaining_then_priority_9_and_risk_flag() -> None:
    c = await call(FLOW, ["2"], customers={CALLER: customer(risk_flags=("media",))})
    assert (c.result.queue, c.result.priority) == ("complaints", 9)
    assert c.channel.variables["IVR_RISK"] == "1"


@pytest.mark.parametrize("script", [["2"], ["3"], ["0"], ["1", "2026123456"]])
async def test_given_a_vip_when_choosing_any_agent_service_then_vip_queue_priority_10(script: list[str]) -> None:
    c = await call(FLOW, script, customers={CALLER: customer(level="vip")}, policies={"2026123456": policy()})
    assert (c.result.queue, c.result.priority) == ("vip", 10)
    assert c.channel.variables["IVR_VIP"] == "1"
    assert "connecting-agent-vip" in c.channel.played


async def test_given_consultation_when_choosing_3_then_consultation_queue() -> None:
    c = await call(FLOW, ["3"])
    assert (c.result.queue, c.channel.variables["IVR_SERVICE"]) == ("consultation", "咨询")


async def test_given_zero_when_choosing_then_general_service() -> None:
    c = await call(FLOW, ["0"])
    assert (c.result.queue, c.channel.variables["IVR_SERVICE"]) == ("general-service", "人工")


async def test_given_three_invalid_choices_when_at_the_main_menu_then_an_agent() -> None:
    c = await call(FLOW, ["7", "9", "8"])
    assert c.result.queue == "general-service"
    assert c.result.path[2].node == "main_menu" and c.result.path[2].digits == ["7", "9", "8"]
    assert "fallback after 3 tries" in c.result.path[2].detail
    assert c.channel.played.count("invalid-input") == 2
    assert "IVR_CHOICE" not in c.channel.variables


async def test_given_three_timeouts_when_at_the_main_menu_then_an_agent() -> None:
    c = await call(FLOW, [None, None, ""])
    assert c.result.queue == "general-service"
    assert c.result.path[2].digits == [None, None, None]
    assert c.channel.played.count("no-input") == 2


async def test_given_one_invalid_then_a_valid_choice_when_at_the_menu_then_the_valid_one_counts() -> None:
    c = await call(FLOW, ["5", "3"])
    assert c.result.queue == "consultation" and c.channel.variables["IVR_CHOICE"] == "3"


async def test_given_night_when_complaining_and_pressing_1_then_a_callback_is_recorded() -> None:
    c = await call(FLOW, ["2", "1"], at=AFTER_HOURS)
    assert c.result.outcome == "callback" and c.result.queue is None
    assert [(cb.phone, cb.service, cb.flow) for cb in c.services.callbacks] == [(CALLER, "投诉", "default")]
    assert c.channel.hung_up and "callback-recorded" in c.channel.played
    assert "IVR_QUEUE" not in c.channel.variables


async def test_given_night_when_declining_the_callback_then_goodbye() -> None:
    c = await call(FLOW, ["3", None], at=AFTER_HOURS)
    assert c.result.outcome == "hung_up" and c.channel.played[-1] == "goodbye"
    assert c.services.callbacks == [] and c.channel.hung_up


async def test_given_a_public_holiday_when_asking_for_an_agent_then_closed() -> None:
    national_day = datetime(2026, 10, 2, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
    c = await call(FLOW, ["0", "1"], at=national_day)
    assert c.result.outcome == "callback" and c.services.callbacks[0].service == "人工"


async def test_given_a_make_up_saturday_when_asking_for_an_agent_then_open() -> None:
    make_up_day = datetime(2026, 10, 10, 2, 0, tzinfo=UTC)  # Saturday 10:00, a 调休 working day
    c = await call(FLOW, ["0"], at=make_up_day)
    assert c.result.queue == "general-service"


async def test_given_the_caller_hangs_up_mid_flow_when_running_then_caller_hung_up_with_the_path_so_far() -> None:
    c = await call(FLOW, ["1", HANGUP])
    assert c.result.outcome == "caller_hung_up" and c.result.queue is None
    assert nodes(c) == ["welcome", "identify", "main_menu", "claim", "claim_policy"]
    assert c.result.path[-1].detail == "caller hung up"


async def test_given_a_correct_id_when_querying_a_policy_then_status_date_and_amount_are_read() -> None:
    c = await call(FLOW, ["4", "2026123456", "123*", None], policies={"2026123456": policy()})
    assert c.result.outcome == "self_service" and c.channel.hung_up
    played = c.channel.played
    assert "policy-status-in-force" in played
    date_at = played.index("next-premium-date-is")
    assert played[date_at + 1:date_at + 1 + len(speech.read_date("2026-12-01"))] == speech.read_date("2026-12-01")
    amount_at = played.index("next-premium-amount-is")
    assert played[amount_at + 1:amount_at + 11] == speech.read_amount("1234.50")
    id_step = next(s for s in c.result.path if s.node == "query_id")
    assert id_step.digits == ["****"]
    assert "123" not in json.dumps(c.result.to_dict()).replace("2026123456", "")


async def test_given_a_wrong_then_right_id_when_querying_then_the_second_try_succeeds() -> None:
    c = await call(FLOW, ["4", "2026123456", "0000", "123*", None], policies={"2026123456": policy()})
    assert c.result.outcome == "self_service" and "id-mismatch" in c.channel.played


async def test_given_a_wrong_id_twice_when_querying_then_an_agent() -> None:
    c = await call(FLOW, ["4", "2026123456", "0000", "1111"], policies={"2026123456": policy()})
    assert c.result.queue == "general-service" and "id-mismatch-agent" in c.channel.played
    assert "IVR_POLICY" not in c.channel.variables  # never confirmed to this caller


async def test_given_no_premium_due_when_querying_then_it_says_so() -> None:
    c = await call(FLOW, ["4", "2026123456", "123X", None],
                   policies={"2026123456": policy(due=None, amount=None)})
    assert "no-premium-due" in c.channel.played and "next-premium-amount-is" not in c.channel.played


async def test_given_an_unknown_policy_when_querying_then_retry_or_agent() -> None:
    c = await call(FLOW, ["4", "1111111111", "0"])
    assert c.result.queue == "general-service" and "retry-or-agent" in c.channel.played


async def test_given_the_query_done_menu_when_pressing_0_then_an_agent() -> None:
    c = await call(FLOW, ["4", "2026123456", "123X", "0"], policies={"2026123456": policy()})
    assert c.result.queue == "general-service" and c.channel.variables["IVR_SERVICE"] == "人工"


async def test_given_a_withheld_number_when_calling_then_no_lookup_and_the_menu_works() -> None:
    c = await call(FLOW, ["2"], caller=None)
    assert c.result.queue == "complaints" and "IVR_CUSTOMER_ID" not in c.channel.variables


async def test_given_the_database_down_when_identifying_then_the_default_queue_and_error() -> None:
    c = await call(FLOW, [], fail_lookups=True)
    assert (c.result.outcome, c.result.queue) == ("error", "general-service")
    assert c.channel.variables["IVR_QUEUE"] == "general-service" and "ConnectionError" in c.result.detail


async def test_given_any_call_when_serialised_then_json_with_timings() -> None:
    c = await call(FLOW, ["3"])
    data = json.loads(json.dumps(c.result.to_dict()))
    assert data["flow"] == "default" and data["outcome"] == "queued"
    steps = data["path"]
    assert steps[0]["node"] == "welcome" and steps[0]["duration_ms"] == 500
    assert all(b["started_ms"] >= a["started_ms"] + a["duration_ms"] for a, b in zip(steps, steps[1:], strict=False))
