"""The benchmarks still run and print one JSON line per figure (tiny scale; real figures come from `make bench`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bench import directory_lookup


async def test_given_small_data_when_lookup_bench_runs_then_json_lines_with_percentiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(directory_lookup, "CACHE", tmp_path)
    await directory_lookup.main(argparse.Namespace(customers=300, n=30, pg_url=""))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["path"], r["db"]) for r in lines] == [("direct", "sqlite"), ("http", "sqlite")]
    for r in lines:
        assert r["bench"] == "directory_lookup_by_phone" and r["n"] == 30
        assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]
        assert r["machine"] and r["date"]


async def test_given_traces_when_ami_parse_bench_runs_then_both_parsers_count_every_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench import ami_parse

    await ami_parse.main(argparse.Namespace(messages=2000, rounds=1))
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["bench"] == "ami_parse" and line["messages"] >= 2000
    assert line["lianluo_msgs_per_s"] > 0 and line["panoramisk_msgs_per_s"] > 0


async def test_given_traces_when_cti_pipeline_bench_runs_then_rates_and_memory_are_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench import cti_pipeline

    await cti_pipeline.main(argparse.Namespace(messages=2000, rounds=1, calls=20, latency_calls=3, rate=5000.0,
                                               redis_url=""))
    rate, latency, memory = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rate["bench"] == "cti_pipeline" and rate["events_per_s"] > 0 and rate["platform_events"] > 0
    # each answered call: 6 call events and 7 agent states (two agents ring, one answers)
    assert latency["platform_events"] == 3 * (6 + 7) and 0 < latency["p50_ms"] <= latency["p99_ms"]
    assert memory["calls"] == 20 and memory["peak_traced_mib"] > 0


async def test_given_a_tiny_topology_when_the_screenpop_bench_runs_then_every_ring_pops_and_is_timed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import screenpop_e2e

    monkeypatch.setattr(screenpop_e2e, "CACHE", tmp_path)
    await screenpop_e2e.main(argparse.Namespace(connections=6, rate=5.0, seconds=1.0, queues=2, ring=0.1,
                                                talk=(0.3, 0.6), wrapup=1, bus_url="memory://"))
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["bench"] == "screenpop_e2e" and line["bus"] == "memory" and line["connections"] == 6
    # every call rang one agent, and each of those AMI events was matched to the frame on that agent's console
    assert line["calls"] == line["agent_called"] == line["frames_matched"] == 5
    assert 0 < line["p50_ms"] <= line["p95_ms"] <= line["p99_ms"] <= line["max_ms"]
    assert line["rss_per_connection_kib"] > 0 and line["goal_p99_ms"] == 50 and isinstance(line["met"], bool)
