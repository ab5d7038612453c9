"""The ``lianluo`` command: serve, cti, ivr, worker, demo, seed, db upgrade, user add."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
from datetime import date
from pathlib import Path

from backend.core import runtime
from backend.core.logging import configure as configure_logging
from backend.core.settings import Settings

log = logging.getLogger("lianluo")


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    log.debug("settings: %s", settings.safe_dump())
    return settings


def _fail(message: str, code: int = 2) -> int:
    print(f"lianluo: {message}", file=sys.stderr)
    return code


# --- serve / worker / demo


async def _serve(settings: Settings, *, with_worker: bool, banner: str | None = None, with_pbx: bool = False) -> None:
    import uvicorn

    from backend.app import create_app
    from backend.core.context import AppContext
    from backend.worker.loops import run_worker

    ctx = AppContext.from_settings(settings)
    app = create_app(ctx)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None,
                                           proxy_headers=True, ws_ping_interval=20, access_log=False))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(server.serve(), name="http")]
    if with_worker:
        tasks.append(asyncio.create_task(run_worker(ctx, stop), name="worker"))
    if with_pbx:
        from backend.demo import run_embedded_pbx

        tasks.append(asyncio.create_task(run_embedded_pbx(ctx, stop), name="pbx"))
    for task in tasks[1:]:
        task.add_done_callback(_report_failure)
    if banner:
        while not server.started and not tasks[0].done():
            await asyncio.sleep(0.05)
        if server.started:
            print(banner, flush=True)
    await tasks[0]
    stop.set()
    await asyncio.gather(*tasks[1:], return_exceptions=True)


def _report_failure(task: asyncio.Task[None]) -> None:
    """A background part of the process (worker, embedded PBX) that dies says so, loudly."""
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger("lianluo").error("%s stopped: %r", task.get_name(), task.exception(),
                                           exc_info=task.exception())


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.port:
        settings.port = args.port
    runtime.run(_serve(settings, with_worker=False))
    return 0


async def _worker(settings: Settings) -> None:
    from backend.core.context import AppContext
    from backend.worker.loops import run_worker

    ctx = AppContext.from_settings(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_worker(ctx, stop)
    finally:
        await ctx.close()


def cmd_worker(_args: argparse.Namespace) -> int:
    runtime.run(_worker(_settings()))
    return 0


async def _cti(settings: Settings) -> int:
    from backend.core.context import AppContext
    from cti.ami.client import LoginFailed
    from cti.bridge import CtiBridge

    ctx = AppContext.from_settings(settings)
    bridge = CtiBridge(settings, ctx.bus, ctx.clock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await bridge.run(stop)
    except LoginFailed as exc:
        return _fail(f"{exc} (LIANLUO_AMI_USERNAME / LIANLUO_AMI_SECRET must match asterisk_conf/manager.conf)")
    finally:
        await ctx.close()
    return 0


def cmd_cti(_args: argparse.Namespace) -> int:
    return runtime.run(_cti(_settings()))


async def _ivr(settings: Settings) -> int:
    from backend.core.context import AppContext
    from ivr.flows.loader import FlowRegistryError
    from ivr.service import Ivr

    ctx = AppContext.from_settings(settings)
    try:
        ivr = Ivr(ctx)
    except FlowRegistryError as exc:
        await ctx.close()
        return _fail(f"IVR flows refused, not starting:\n{exc}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, ivr.reload)
    try:
        await ivr.start()
        await stop.wait()
        await ivr.stop()
    finally:
        await ctx.close()
    return 0


def cmd_ivr(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.action == "check":
        from ivr.flows.loader import FlowRegistryError
        from ivr.service import load_registry

        try:
            registry = load_registry(settings)
        except FlowRegistryError as exc:
            return _fail(str(exc))
        print(f"flows OK: {', '.join(registry.names())}")
        return 0
    if args.action == "prompts":
        from ivr.prompts.catalog import PromptCatalog
        from ivr.prompts.generate import PromptGenerationFailed, PromptToolMissing, generate_prompts

        out = args.out or settings.effective_prompts_dir
        try:
            report = asyncio.run(generate_prompts(PromptCatalog.load(), out, formats=("wav", "ulaw")))
        except (PromptToolMissing, PromptGenerationFailed) as exc:
            return _fail(str(exc))
        print(f"提示音 prompts in {out}: {len(report.generated)} generated, {len(report.up_to_date)} up to date, "
              f"{len(report.kept_recordings)} recordings of your own kept")
        return 0
    return runtime.run(_ivr(settings))


async def _prepare_demo(settings: Settings) -> str:
    from backend.core.db import Database
    from backend.migrations import upgrade_async
    from backend.seed.builder import is_seeded, seed

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    await upgrade_async(url)
    db = Database(url)
    try:
        if not await is_seeded(db):
            print("首次运行：正在生成演示数据 (seeding demo data) …", flush=True)
            report = await seed(db, seed=settings.demo_seed, customers=settings.demo_customers,
                                policies=settings.demo_policies, password=settings.demo_password.get_secret_value())
            print(f"演示数据就绪：{report.orgs} 机构, {report.users} 用户, {report.customers} 客户, "
                  f"{report.policies} 保单, {report.claims} 赔案 ({report.seconds:.1f}s)", flush=True)
        return await _logins_banner(db, settings)
    finally:
        await db.dispose()


async def _logins_banner(db, settings: Settings) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from backend.auth.models import User
    from backend.auth.permissions import ROLE_LABELS, Role
    from backend.demo import for_people
    from backend.orgs.scope import Scope

    async with db.session(scope=Scope.everything()) as session:
        users = (await session.scalars(select(User).order_by(User.id))).all()
        rows = [(u.username, "、".join(ROLE_LABELS[Role(r)] for r in u.roles), u.org.name) for u in users]
    url = f"http://{settings.host}:{settings.port}"
    lines = [f"联络 Lianluo 已启动: {url}   (API 文档 {url}/docs)", "演示账号 (demo logins), 密码 password: "
             f"{settings.demo_password.get_secret_value()}"]
    shown = [r for r in rows if for_people(r[0])][:24]
    width = max(len(r[0]) for r in shown) if shown else 10
    lines += [f"  {name:<{width}}  {roles}  @ {org}" for name, roles, org in shown]
    lines.append(f"  …共 {len(rows)} 个演示账号，完整列表见 README；Ctrl+C 停止")
    return "\n".join(lines)


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.port:
        settings.port = args.port
    banner = asyncio.run(_prepare_demo(settings))
    runtime.run(_serve(settings, with_worker=True, banner=banner, with_pbx=True))
    return 0


# --- seed / db / user


def cmd_seed(args: argparse.Namespace) -> int:
    from backend.core.db import Database
    from backend.seed.builder import AlreadySeeded, seed

    settings = _settings()

    async def run() -> int:
        db = Database(settings.effective_database_url)
        try:
            report = await seed(db, seed=args.seed, customers=args.customers, policies=args.policies,
                                password=settings.demo_password.get_secret_value(), as_of=args.as_of)
        except AlreadySeeded as exc:
            return _fail(str(exc))
        finally:
            await db.dispose()
        print(f"seeded {report.orgs} orgs, {report.users} users, {report.customers} customers, "
              f"{report.policies} policies, {report.claims} claims in {report.seconds:.1f}s")
        return 0

    return asyncio.run(run())


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from backend.core.settings import redact_url
    from backend.migrations import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url, args.revision)
    print(f"database at {args.revision}: {redact_url(settings.effective_database_url)}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from backend.auth.permissions import Role
    from backend.auth.services import create_user
    from backend.core.clock import SystemClock
    from backend.core.db import Database
    from backend.core.problems import DomainError
    from backend.orgs.models import Org
    from backend.orgs.scope import Scope

    settings = _settings()
    password = os.environ.get("LIANLUO_NEW_USER_PASSWORD") if args.password_env else None
    if password is None:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("密码 (password): ")
            if getpass.getpass("再次输入 (again): ") != password:
                return _fail("两次输入的密码不一致 (passwords differ)")

    async def run() -> int:
        db = Database(settings.effective_database_url)
        try:
            async with db.session(scope=Scope.everything()) as session:
                org = await session.scalar(select(Org).where(Org.code == args.org) if args.org
                                           else select(Org).where(Org.parent_id.is_(None)).order_by(Org.id))
                if org is None:
                    return _fail(f"机构 {args.org or '(root)'} 不存在; create the org tree first (lianluo seed, or the API)")
                user = await create_user(session, username=args.username, password=password,
                                         display_name=args.display_name or args.username, org_id=org.id,
                                         roles=[Role(r) for r in args.role], now=SystemClock().now())
                print(f"user {user.username} (id {user.id}) created at {org.name} with roles {', '.join(user.roles)}")
            return 0
        except DomainError as exc:
            return _fail(exc.detail)
        finally:
            await db.dispose()

    return asyncio.run(run())


def build_parser() -> argparse.ArgumentParser:
    from backend.auth.permissions import Role

    parser = argparse.ArgumentParser(prog="lianluo", description="联络 Lianluo — 保险呼叫中心与投诉管理平台")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    p = sub.add_parser("serve", help="run the HTTP API, websocket hub and agent console")
    p.add_argument("--port", type=int, help="override LIANLUO_PORT")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("cti", help="run the Asterisk AMI bridge (one per Asterisk node)")
    p.set_defaults(func=cmd_cti)
    p = sub.add_parser("ivr", help="run the FastAGI IVR server; or check its flows, or generate its prompts")
    p.add_argument("action", nargs="?", default="serve", choices=["serve", "check", "prompts"],
                   help="serve (default; SIGHUP reloads flows), check (validate the flow files), "
                        "prompts (speak the prompt texts into 8 kHz audio with espeak-ng and sox)")
    p.add_argument("--out", type=Path, help="prompts: output folder (default LIANLUO_IVR_PROMPTS_DIR)")
    p.set_defaults(func=cmd_ivr)
    p = sub.add_parser("worker", help="run background jobs (timers, notifications, housekeeping)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", help="migrate, seed (first run) and run everything in one process on SQLite")
    p.add_argument("--port", type=int, help="override LIANLUO_PORT")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("seed", help="fill an empty database with a deterministic demo insurer")
    p.add_argument("--seed", type=int, default=Settings().demo_seed, help="seed number (same seed, same data)")
    p.add_argument("--customers", type=int, default=10_000)
    p.add_argument("--policies", type=int, default=20_000)
    p.add_argument("--as-of", type=date.fromisoformat, default=None,
                   help="date the data is relative to (default today; fix it to reproduce byte-for-byte)")
    p.set_defaults(func=cmd_seed)

    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="action")
    p = dbsub.add_parser("upgrade", help="apply migrations")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(func=cmd_db_upgrade)

    user = sub.add_parser("user", help="user administration")
    usub = user.add_subparsers(dest="user_command", required=True, metavar="action")
    p = usub.add_parser("add", help="create a user (e.g. the first admin)")
    p.add_argument("username")
    p.add_argument("--role", action="append", required=True, choices=[r.value for r in Role],
                   help="role to grant (repeatable)")
    p.add_argument("--org", help="org code (default: the root org)")
    p.add_argument("--display-name")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    g.add_argument("--password-env", action="store_true", help="read the password from LIANLUO_NEW_USER_PASSWORD")
    p.set_defaults(func=cmd_user_add)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
