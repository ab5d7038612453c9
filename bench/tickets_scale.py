"""Tickets at scale on PostgreSQL: 1,000,000 tickets and 5,000,000 handling records.

Figures (goal p95 < 100 ms each, through the HTTP API in process: auth, org scoping, PII masking):
- 我的待办 of an outlet handler and of a branch-level handler;
- filtered ticket search (status, type, received date range, category) as a branch manager (a subtree of
  ~10 outlets, ~330,000 tickets) and as an outlet handler;
- full-text search (jieba words over 事由 and 诉求) as a branch manager;
- registration throughput: submitted complaints per second with 6 concurrent agents (numbering, risk
  checks, workflow start and the full-text index in each transaction).

The data is loaded once into its own database (``lianluo_bench_tickets_<n>``) with COPY, then reused; the
load is realistic in shape: every ticket of an outlet of the demo org tree, received over the past year, 70 %
closed, 3–8 handling records each, subjects and demands combined from the seed complaint phrases.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from backend.app import create_app
from backend.core.context import AppContext
from backend.core.db import Database
from backend.core.settings import Settings
from backend.core.text import segment
from backend.migrations import upgrade_async
from backend.orgs.models import Org, OrgLevel
from backend.orgs.scope import Scope
from backend.seed.builder import is_seeded, seed
from backend.workflow.models import HandlingRecord
from bench.common import emit, latency_summary

PASSWORD = "Bench@Lianluo1"
ROOT = Path(__file__).resolve().parent.parent
PHRASES = [line.strip() for line in (ROOT.parent / "shared" / "domain" / "complaint_phrases.txt").read_text(
    encoding="utf-8").splitlines() if line.strip()] if (ROOT.parent / "shared").exists() else []
FALLBACK_PHRASES = ["理赔材料交齐一个多月了还没结案", "车辆定损金额远低于4S店报价", "业务员说这款分红险保本",
                    "退保时扣费太多，业务员当初没说", "电话推销太频繁，拒绝后还是天天打来"]
DEMANDS = ["要求尽快赔付", "要求全额退保", "要求赔礼道歉", "要求解释扣费原因", "要求停止来电", "要求重新定损"]
TYPES = ["complaint"] * 6 + ["consultation"] * 2 + ["claim_report", "violation_report", "urging", "suggestion"]
PREFIX = {"complaint": "TS", "violation_report": "JB", "consultation": "ZX", "claim_report": "BA", "urging": "CB",
          "dispute": "YY", "petition": "XF", "suggestion": "JY"}
CAUSES = ["sales", "underwriting", "preservation", "claims", "surrender", "renewal", "service", "harassment"]
ACTIONS = ["transfer", "escalate", "return", "propose", "approve", "urge"]
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def _phrases() -> list[str]:
    return PHRASES or FALLBACK_PHRASES


async def _database(pg_url: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return pg_url.rsplit("/", 1)[0] + f"/{name}"


async def _outlets(db: Database) -> list[Org]:
    async with db.session(scope=Scope.everything()) as s:
        return list((await s.scalars(select(Org).where(Org.level == OrgLevel.outlet).order_by(Org.id))).all())


def _ticket_rows(start: int, count: int, outlets: list[Org], rng: random.Random, words: dict[str, str],
                 record_id: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]],
                                          list[tuple[Any, ...]]]:
    """Tickets, work items, handling records (ids from ``record_id``) and full-text rows for ticket ids
    start .. start+count-1."""
    phrases = _phrases()
    tickets, items, records, texts = [], [], [], []
    for tid in range(start, start + count):
        org = outlets[tid % len(outlets)]
        kind = TYPES[tid % len(TYPES)]
        received = NOW - timedelta(minutes=rng.randrange(365 * 24 * 60))
        closed = rng.random() < 0.7
        subject = phrases[rng.randrange(len(phrases))] + "，" + phrases[rng.randrange(len(phrases))]
        demand = DEMANDS[rng.randrange(len(DEMANDS))]
        limited = kind in ("complaint", "violation_report")
        due = received + timedelta(days=15) if limited else None
        due_state = "normal" if closed or due is None or due > NOW + timedelta(days=2) else (
            "overdue" if due < NOW else "due_soon")
        number = f"{PREFIX[kind]}-{received:%Y%m%d}-{tid:06d}"[:32]
        details = {"cause": CAUSES[tid % len(CAUSES)], "line_of_business": "motor"} if kind == "complaint" else {}
        phone = f"139{tid % 100_000_000:08d}"
        closed_at = received + timedelta(days=rng.randrange(1, 15)) if closed else None
        tickets.append((tid, number, kind, "closed" if closed else "open", "hotline", subject, demand, None, phone,
                        None, phone, None, None, None, None, received, due, 15 if limited else None, 0, due_state,
                        0, None, closed_at, None, _json(details), "[]", None, received, received, received, 1,
                        org.id))
        key = subject + demand
        if key not in words:
            words[key] = segment(subject, demand)
        texts.append((tid, words[key]))
        n_records = rng.randrange(3, 9)
        acted = received
        for i in range(n_records):
            acted = acted + timedelta(hours=rng.randrange(1, 48))
            action = "submit" if i == 0 else ("close" if closed and i == n_records - 1 else ACTIONS[rng.randrange(6)])
            records.append((record_id, tid, "handle", action, None, acted - timedelta(hours=1), acted,
                            "处理意见" if i else None, org.id, None, "{}", org.id))
            record_id += 1
        items.append((tid, tid, "handle", "org", None, None, "done" if closed else "open", "step", None, "{}",
                      acted, acted + timedelta(days=5), "normal", closed_at, 1, org.id, 0))
    return tickets, items, records, texts


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


TICKET_COLUMNS = ["id", "number", "type", "status", "channel", "subject", "demand", "customer_id", "caller_phone",
                  "complainant_name", "complainant_phone", "complainant_id_number", "policy_number", "call_id",
                  "node", "received_at", "decision_due_at", "decision_days", "excluded_days", "due_state",
                  "priority", "supervised_at", "closed_at", "merged_into_id", "details", "risk_flags", "created_by",
                  "created_at", "updated_at", "submitted_at", "version", "org_id"]
ITEM_COLUMNS = ["id", "ticket_id", "step", "assignee_kind", "assignee_user_id", "assignee_role", "status", "kind",
                "parent_item_id", "details", "received_at", "due_at", "due_state", "acted_at", "version", "org_id",
                "priority"]
RECORD_COLUMNS = ["id", "ticket_id", "step", "action", "actor_user_id", "received_at", "acted_at", "opinion",
                  "target_org_id", "target_user_id", "details", "org_id"]


async def _load(url: str, tickets: int, seed_value: int = 42) -> None:
    """Seed the org tree and users, then COPY ``tickets`` tickets with their items, records and words."""
    import asyncpg

    await upgrade_async(url)
    db = Database(url)
    try:
        if not await is_seeded(db):
            await seed(db, seed=seed_value, customers=2000, policies=2000, password=PASSWORD)
        outlets = await _outlets(db)
    finally:
        await db.dispose()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        have = await conn.fetchval("SELECT count(*) FROM tickets")
        if have >= tickets:
            return
        started = time.perf_counter()
        await conn.execute("TRUNCATE tickets, work_items, handling_records, ticket_texts CASCADE")
        rng = random.Random(seed_value)
        words: dict[str, str] = {}
        record_id = 1
        chunk = 50_000
        for start in range(1, tickets + 1, chunk):
            t, i, r, w = _ticket_rows(start, min(chunk, tickets + 1 - start), outlets, rng, words, record_id)
            record_id += len(r)
            async with conn.transaction():
                await conn.copy_records_to_table("tickets", records=t, columns=TICKET_COLUMNS)
                await conn.copy_records_to_table("work_items", records=i, columns=ITEM_COLUMNS)
                await conn.copy_records_to_table("handling_records", records=r, columns=RECORD_COLUMNS)
                await conn.copy_records_to_table("ticket_texts", records=w, columns=["ticket_id", "words"])
            print(f"# loaded {start + len(t) - 1:,} tickets ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)
        for table in ("tickets", "work_items", "handling_records"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT max(id) FROM {table}))")
        await conn.execute("VACUUM ANALYZE")
        print(f"# load done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        await conn.close()


async def _timed(client: httpx.AsyncClient, url: str, params: list[dict[str, Any]]) -> list[float]:
    samples = []
    for p in params:
        t0 = time.perf_counter()
        r = await client.get(url, params=p)
        samples.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text[:300]
    return samples


async def _login(app: Any, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    r = await client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    r.raise_for_status()
    client.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return client


async def _register(app: Any, usernames: list[str], seconds: float) -> tuple[int, float]:
    clients = [await _login(app, u) for u in usernames]
    phrases = _phrases()
    done = 0
    deadline = time.perf_counter() + seconds

    async def agent(client: httpx.AsyncClient, n: int) -> None:
        nonlocal done
        rng = random.Random(n)
        while time.perf_counter() < deadline:
            r = await client.post("/api/tickets", json={
                "type": "complaint", "subject": rng.choice(phrases), "demand": rng.choice(DEMANDS),
                "caller_phone": f"138{rng.randrange(10**8):08d}", "channel": "hotline", "submit": True,
                "details": {"cause": "claims", "sub_cause": "claim_too_slow", "line_of_business": "motor"}})
            assert r.status_code == 201, r.text[:300]
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(agent(c, i) for i, c in enumerate(clients)))
    elapsed = time.perf_counter() - started
    for c in clients:
        await c.aclose()
    return done, elapsed


async def main(args: argparse.Namespace) -> None:
    try:
        url = await _database(args.pg_url, f"lianluo_bench_tickets_{args.tickets}")
    except OSError:
        print(f"# postgresql unreachable at {args.pg_url}; skipped", file=sys.stderr, flush=True)
        return
    await _load(url, args.tickets)
    settings = Settings(database_url=url, data_dir=Path("/tmp/lianluo-bench-tickets"), log_level="WARNING",
                        secret_key="bench-signing-key-0123456789abcdef-xyz")
    ctx = AppContext.from_settings(settings)
    app = create_app(ctx)
    rng = random.Random(7)
    common = {"bench": "tickets_scale", "db": "postgresql", "tickets": args.tickets}
    try:
        async with ctx.db.session(scope=Scope.everything()) as s:
            records = await s.scalar(select(func.count()).select_from(HandlingRecord))
        outlet = await _login(app, "complaint_handler_bj_cy01")
        central = await _login(app, "complaint_handler_bj_cy")
        branch = await _login(app, "org_manager_bj")
        n = args.n
        figures: dict[str, list[float]] = {}
        for name, client, url_, params in [
            ("todo_outlet", outlet, "/api/workflow/todo", [{"limit": 50}] * n),
            ("todo_central", central, "/api/workflow/todo", [{"limit": 50}] * n),
            ("search_filtered_branch", branch, "/api/tickets/search", [
                {"status": rng.choice(["open", "closed"]), "type": "complaint",
                 "received_from": (NOW - timedelta(days=rng.randrange(30, 300))).date().isoformat(),
                 "received_to": NOW.date().isoformat(), "cause": rng.choice(CAUSES), "limit": 50}
                for _ in range(n)]),
            ("search_filtered_outlet", outlet, "/api/tickets/search", [
                {"status": "open", "received_from": (NOW - timedelta(days=90)).date().isoformat(), "limit": 50}
                for _ in range(n)]),
            ("search_fulltext_branch", branch, "/api/tickets/search", [
                {"q": rng.choice(["理赔", "退保 扣费", "定损", "分红险", "电话 推销", "拒赔", "理赔 结案"]), "limit": 50}
                for _ in range(n)]),
            ("search_fulltext_filtered_branch", branch, "/api/tickets/search", [
                {"q": rng.choice(["理赔", "退保", "定损"]), "status": "open", "limit": 50} for _ in range(n)]),
        ]:
            await _timed(client, url_, params[:5])  # warm the plan cache and the connection pool
            figures[name] = await _timed(client, url_, params)
            summary = latency_summary(figures[name])
            summary["p95_ms"] = round(sorted(x * 1000 for x in figures[name])[int(len(figures[name]) * 0.95)], 3)
            emit("tickets_scale", **{k: v for k, v in common.items() if k != "bench"}, handling_records=records,
                 query=name, **summary, goal="p95 < 100 ms")
        for c in (outlet, central, branch):
            await c.aclose()
        agents = [f"agent_{k}" for k in ("bj_cy01", "bj_cy", "bj", "sh", "gd", "hq")]
        created, seconds = await _register(app, agents, args.register_seconds)
        emit("tickets_scale", db="postgresql", tickets=args.tickets, query="registration",
             concurrent_agents=len(agents), registered=created, per_second=round(created / seconds, 1))
    finally:
        await ctx.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--n", type=int, default=200, help="requests per query kind")
    parser.add_argument("--register-seconds", type=float, default=15.0)
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
