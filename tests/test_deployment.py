"""The deployment files agree with each other, with Settings and with the ``lianluo`` command.

Docker cannot run where the tests run, so these tests read docker-compose.yml, the Dockerfile and
asterisk_conf/ and check every value that has to be the same in two places: a port, a host name,
a user, a queue or context name.
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import json
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from backend.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ASTERISK_CONF = ROOT / "asterisk_conf"

CLI_SUBCOMMANDS = frozenset({"serve", "cti", "ivr", "worker", "demo", "seed", "db", "user"})
PLATFORM_PROCESSES = ("serve", "cti", "ivr", "worker")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Compose refuses to start without these (${VAR:?...}); every other variable takes its default.
REQUIRED_ENV = {"LIANLUO_SECRET_KEY": "test-secret-key-for-compose-0123456789"}
# Sections of extensions.conf that are not dialplan contexts.
DIALPLAN_SETTINGS_SECTIONS = frozenset({"general", "globals"})


# ---------------------------------------------------------------- Asterisk configuration files


@dataclass
class ConfSection:
    name: str
    is_template: bool = False
    bases: tuple[str, ...] = ()
    entries: list[tuple[str, str]] = field(default_factory=list)


def _strip_comment(line: str) -> str:
    """Drop a `;` comment; `\\;` is a literal semicolon."""
    out: list[str] = []
    i = 0
    while i < len(line):
        if line.startswith("\\;", i):
            out.append(";")
            i += 2
            continue
        if line[i] == ";":
            break
        out.append(line[i])
        i += 1
    return "".join(out).strip()


_HEADER = re.compile(r"^\[(?P<name>[^\]]+)\]\s*(?:\((?P<options>[^)]*)\))?$")


def parse_asterisk_conf(text: str) -> list[ConfSection]:
    """Sections in file order. Handles `[name]`, `(!)` templates, `(base, ...)`, `(+)`, `=` and `=>`."""
    text = re.sub(r";--.*?--;", "", text, flags=re.S)
    sections: list[ConfSection] = []
    current: ConfSection | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line or line.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            name = header["name"].strip()
            options = [o.strip() for o in (header["options"] or "").split(",") if o.strip()]
            if "+" in options:
                current = next((s for s in reversed(sections) if s.name == name), None)
                if current is None:
                    raise ValueError(f"line {lineno}: [{name}](+) adds to a section that does not exist")
                continue
            current = ConfSection(name, "!" in options, tuple(o for o in options if o != "!"))
            sections.append(current)
            continue
        if current is None:
            raise ValueError(f"line {lineno}: {raw!r} is outside any section")
        equals = line.find("=")
        if equals <= 0:
            raise ValueError(f"line {lineno}: {raw!r} is neither a section nor key = value")
        value_start = equals + 2 if line.startswith("=>", equals) else equals + 1
        current.entries.append((line[:equals].strip(), line[value_start:].strip()))
    return sections


@dataclass
class AsteriskConf:
    sections: list[ConfSection]

    def effective_entries(self, section: ConfSection) -> list[tuple[str, str]]:
        """The section's entries after those it inherits from its templates."""
        entries: list[tuple[str, str]] = []
        before = self.sections[: self.sections.index(section)]
        for base_name in section.bases:
            base = next((s for s in reversed(before) if s.name == base_name), None)
            if base is None:
                raise ValueError(f"[{section.name}] inherits from [{base_name}], which is not defined before it")
            entries += self.effective_entries(base)
        return entries + section.entries

    def effective(self, section: ConfSection) -> dict[str, str]:
        return dict(self.effective_entries(section))

    def concrete(self) -> Iterator[ConfSection]:
        return (s for s in self.sections if not s.is_template)

    def names(self) -> set[str]:
        return {s.name for s in self.concrete()}

    def settings(self, name: str) -> dict[str, str]:
        found = [s for s in self.concrete() if s.name == name]
        assert len(found) == 1, f"expected one [{name}] section, found {len(found)}"
        return self.effective(found[0])

    def values(self, name: str, key: str) -> list[str]:
        found = [s for s in self.concrete() if s.name == name]
        assert len(found) == 1, f"expected one [{name}] section, found {len(found)}"
        return [v for k, v in self.effective_entries(found[0]) if k == key]


@cache
def asterisk_conf(filename: str) -> AsteriskConf:
    return AsteriskConf(parse_asterisk_conf((ASTERISK_CONF / filename).read_text(encoding="utf-8")))


def dialplan_contexts() -> dict[str, list[str]]:
    """Context name → its extension patterns."""
    conf = asterisk_conf("extensions.conf")
    return {
        s.name: [v.split(",", 1)[0].strip() for k, v in conf.effective_entries(s) if k == "exten"]
        for s in conf.concrete()
        if s.name not in DIALPLAN_SETTINGS_SECTIONS
    }


def dialplan_globals() -> dict[str, str]:
    conf = asterisk_conf("extensions.conf")
    return conf.settings("globals") if "globals" in conf.names() else {}


def dialplan_applications() -> Iterator[tuple[str, str]]:
    """(context, application text) for every priority of every context."""
    conf = asterisk_conf("extensions.conf")
    for section in conf.concrete():
        if section.name in DIALPLAN_SETTINGS_SECTIONS:
            continue
        for key, value in conf.effective_entries(section):
            if key == "exten":
                yield section.name, value.split(",", 2)[-1]
            elif key == "same":
                yield section.name, value.split(",", 1)[-1]


def resolve_globals(text: str) -> str:
    values = dialplan_globals()
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m[1], m[0]), text)


def pattern_matches(pattern: str, number: str) -> bool:
    """Asterisk extension matching: `_` patterns with X, Z, N, [...], `.` and `!`."""
    if not pattern.startswith("_"):
        return pattern == number
    regex, i = "", 1
    while i < len(pattern):
        ch = pattern[i].upper()
        if ch == "[":
            end = pattern.index("]", i)
            regex += f"[{pattern[i + 1:end]}]"
            i = end
        else:
            regex += {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(ch, re.escape(pattern[i]))
        i += 1
    return re.fullmatch(regex, number) is not None


def pjsip_objects(kind: str) -> dict[str, dict[str, str]]:
    """Name → effective settings of every concrete pjsip.conf section of one type."""
    conf = asterisk_conf("pjsip.conf")
    found = {}
    for section in conf.concrete():
        settings = conf.effective(section)
        if settings.get("type") == kind:
            found[section.name] = settings
    return found


def queue_names() -> set[str]:
    # app_queue reads [general] as its settings, so a queue cannot be called "general".
    return asterisk_conf("queues.conf").names() - {"general"}


# ---------------------------------------------------------------- docker-compose.yml


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


_VARIABLE = re.compile(r"\$\$|\$\{(?P<braced>[^}]*)\}|\$(?P<plain>[A-Za-z_]\w*)")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose variable substitution: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR:+alt}."""

    def replace(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        expression = match["braced"] if match["braced"] is not None else match["plain"]
        parsed = re.fullmatch(r"(\w+)(?:(:?[-?+])(.*))?", expression, flags=re.S)
        if parsed is None:
            raise ValueError(f"cannot read ${{{expression}}}")
        name, operator, argument = parsed.groups()
        value = env.get(name)
        is_set = value is not None and (value != "" or not (operator or "").startswith(":"))
        if operator is None:
            return value or ""
        if operator.endswith("-"):
            return value if is_set else argument
        if operator.endswith("?"):
            if not is_set:
                raise LookupError(f"{name} is required: {argument}")
            return value
        return argument if is_set else ""

    return _VARIABLE.sub(replace, text)


def raw_environment(service: Mapping[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = [item.split("=", 1) if "=" in item else (item, None) for item in env]
        return {key: value for key, value in pairs}
    return {key: None if value is None else str(value) for key, value in env.items()}


def service_env(name: str, env: Mapping[str, str] = REQUIRED_ENV) -> dict[str, str]:
    return {
        key: interpolate(value, env)
        for key, value in raw_environment(services()[name]).items()
        if value is not None
    }


def builds_platform_image(service: Mapping[str, Any]) -> bool:
    build = service.get("build")
    if build is None:
        return False
    if isinstance(build, str):
        build = {"context": build}
    context = (COMPOSE_FILE.parent / build.get("context", ".")).resolve()
    uses_repo_dockerfile = "dockerfile_inline" not in build and build.get("dockerfile", "Dockerfile") == "Dockerfile"
    return context == ROOT and uses_repo_dockerfile


def platform_commands() -> dict[str, list[str]]:
    """Service → command, for every service built from the repository's Dockerfile."""
    commands = {}
    for name, service in services().items():
        if builds_platform_image(service):
            command = service.get("command", [])
            commands[name] = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    return commands


@dataclass(frozen=True)
class PortMapping:
    host: tuple[int, int] | None
    container: tuple[int, int]
    protocol: str


def _port_range(text: str) -> tuple[int, int]:
    first, _, last = str(text).partition("-")
    return int(first), int(last or first)


def port_mappings(service: Mapping[str, Any]) -> list[PortMapping]:
    mappings = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            published = entry.get("published")
            host = _port_range(published) if published is not None else None
            mappings.append(PortMapping(host, _port_range(entry["target"]), entry.get("protocol", "tcp")))
            continue
        spec, _, protocol = str(entry).partition("/")
        parts = spec.split(":")
        host = _port_range(parts[-2]) if len(parts) >= 2 else None
        mappings.append(PortMapping(host, _port_range(parts[-1]), protocol or "tcp"))
    return mappings


def listening_ports(service: Mapping[str, Any]) -> set[int]:
    ports = {p for m in port_mappings(service) for p in range(m.container[0], m.container[1] + 1)}
    for entry in service.get("expose", []):
        first, last = _port_range(str(entry).partition("/")[0])
        ports.update(range(first, last + 1))
    return ports


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    targets = service.get("depends_on") or {}
    if isinstance(targets, list):
        return {target: "service_started" for target in targets}
    return {target: (spec or {}).get("condition", "service_started") for target, spec in targets.items()}


def bind_mounts(service: Mapping[str, Any]) -> list[tuple[Path, str, bool]]:
    """(host path, container path, read-only) of every bind mount."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                mounts.append((volume["source"], volume["target"], bool(volume.get("read_only"))))
            continue
        source, target, *mode = volume.split(":")
        if source.startswith((".", "/")):
            mounts.append((source, target, "ro" in ",".join(mode).split(",")))
    return [((COMPOSE_FILE.parent / source).resolve(), target, ro) for source, target, ro in mounts]


def compose_subnets() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = compose().get("networks") or {}
    return [
        ipaddress.ip_network(pool["subnet"])
        for network in networks.values()
        for pool in ((network or {}).get("ipam") or {}).get("config", [])
        if "subnet" in pool
    ]


def kannel_groups() -> list[dict[str, str]]:
    """Groups of the Kannel configuration that compose mounts into the kannel service."""
    kannel = services()["kannel"]
    sources = [c if isinstance(c, str) else c["source"] for c in kannel.get("configs", [])]
    assert len(sources) == 1, f"kannel should mount one config, mounts {sources}"
    content = interpolate(compose()["configs"][sources[0]]["content"], REQUIRED_ENV)
    groups: list[dict[str, str]] = []
    for line in content.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if key == "group":
            groups.append({})
        groups[-1][key] = value.strip('"')
    return groups


# ---------------------------------------------------------------- the parsers themselves


def test_given_conf_with_templates_and_appends_when_parsing_then_children_inherit_and_override() -> None:
    text = (
        "; leading comment\n[general]\nport = 5038 ; trailing comment\n"
        "[base](!)\na = 1\nb = 2\n"
        "[child](base)\nb = 3\nexten => s,1,Set(X=a\\;b)\n same => n,Hangup()\n"
        "[child](+)\nc = 4\n"
    )
    conf = AsteriskConf(parse_asterisk_conf(text))

    assert conf.settings("general") == {"port": "5038"}
    assert conf.settings("child") == {"a": "1", "b": "3", "exten": "s,1,Set(X=a;b)", "same": "n,Hangup()", "c": "4"}
    assert conf.names() == {"general", "child"}


@pytest.mark.parametrize("text", ["a = 1\n[s]\n", "[s]\njust words\n", "[s]\n[t](+)\nx = 1\n", "[s](missing)\n"])
def test_given_malformed_conf_when_parsing_then_it_is_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        conf = AsteriskConf(parse_asterisk_conf(text))
        conf.settings("s")


def test_given_compose_expressions_when_interpolating_then_defaults_requirements_and_escapes_apply() -> None:
    env = {"SET": "x", "EMPTY": ""}

    assert interpolate("${SET:-d}/${UNSET:-d}/${EMPTY:-d}/${EMPTY-d}/$$HOME/$SET", env) == "x/d/d//$HOME/x"
    assert interpolate("${SET:+alt}${UNSET:+alt}", env) == "alt"
    with pytest.raises(LookupError):
        interpolate("${UNSET:?set it}", env)


def test_given_dialplan_patterns_when_matching_numbers_then_asterisk_rules_apply() -> None:
    assert pattern_matches("_10XX", "1007")
    assert not pattern_matches("_10XX", "10071")
    assert pattern_matches("_9X.", "913800000000")
    assert not pattern_matches("_9X.", "91")
    assert pattern_matches("_12[02]", "122")
    assert not pattern_matches("_12[02]", "121")
    assert pattern_matches("s", "s")


# ---------------------------------------------------------------- compose ↔ Settings and CLI


def test_given_compose_services_when_reading_lianluo_variables_then_each_names_a_settings_field() -> None:
    used = {
        (name, key): key.removeprefix("LIANLUO_").lower()
        for name, service in services().items()
        for key in raw_environment(service)
        if key.startswith("LIANLUO_")
    }

    assert used, "no service sets a LIANLUO_* variable"
    unknown = sorted(f"{name}: {key}" for (name, key), fld in used.items() if fld not in Settings.model_fields)
    assert unknown == [], "not fields of backend.core.settings.Settings"


def test_given_platform_services_when_reading_environment_then_only_lianluo_variables_are_set() -> None:
    others = {
        name: sorted(k for k in raw_environment(services()[name]) if not k.startswith("LIANLUO_"))
        for name in platform_commands()
    }

    assert {name: keys for name, keys in others.items() if keys} == {}


@pytest.mark.parametrize("name", [*PLATFORM_PROCESSES, "migrate"])
def test_given_platform_service_environment_when_loaded_into_settings_then_every_value_validates(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("LIANLUO_")]:
        monkeypatch.delenv(key)
    env = service_env(name)
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    settings = Settings()

    assert settings.effective_database_url == env["LIANLUO_DATABASE_URL"]


def test_given_platform_services_when_comparing_shared_settings_then_they_agree() -> None:
    shared = ("LIANLUO_DATABASE_URL", "LIANLUO_BUS_URL", "LIANLUO_SECRET_KEY", "LIANLUO_NODE_ID")
    seen = {key: {service_env(name).get(key) for name in platform_commands()} for key in shared}

    assert {key: values for key, values in seen.items() if len(values) != 1 or None in values} == {}


def test_given_platform_services_when_reading_commands_then_each_starts_with_a_lianluo_subcommand() -> None:
    commands = platform_commands()

    assert set(PLATFORM_PROCESSES) | {"migrate"} <= set(commands)
    assert {name: c for name, c in commands.items() if not c or c[0] not in CLI_SUBCOMMANDS} == {}


def test_given_backend_cli_when_parsing_each_compose_command_then_argparse_accepts_it() -> None:
    if not (ROOT / "backend" / "cli.py").exists():
        pytest.skip("backend/cli.py is not written yet")
    cli = importlib.import_module("backend.cli")
    assert hasattr(cli, "build_parser"), "backend.cli must expose build_parser() for this check"
    parser = cli.build_parser()
    assert isinstance(parser, argparse.ArgumentParser)
    subcommands = {
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }

    for name, command in platform_commands().items():
        assert command and command[0] in subcommands, f"{name}: {command} is not a `lianluo` subcommand"
        try:
            parser.parse_args(command)
        except SystemExit:
            pytest.fail(f"{name}: `lianluo {' '.join(command)}` is rejected by the CLI")


def test_given_platform_processes_when_reading_dependencies_then_each_waits_for_the_migration() -> None:
    migrations = [name for name, command in platform_commands().items() if command[:2] == ["db", "upgrade"]]

    assert len(migrations) == 1, f"expected one `db upgrade` service, found {migrations}"
    waits = {name: depends_on(services()[name]).get(migrations[0]) for name in PLATFORM_PROCESSES}
    assert waits == dict.fromkeys(PLATFORM_PROCESSES, "service_completed_successfully")


def test_given_depends_on_when_resolved_then_every_target_exists_and_its_condition_can_be_met() -> None:
    problems = []
    for name, service in services().items():
        for target, condition in depends_on(service).items():
            other = services().get(target)
            if other is None:
                problems.append(f"{name} depends on missing service {target}")
            elif condition == "service_healthy" and not (other.get("healthcheck") or {}).get("test"):
                problems.append(f"{name} waits for {target} to be healthy, but {target} has no healthcheck")
            elif condition == "service_completed_successfully" and other.get("restart", "no") != "no":
                problems.append(f"{name} waits for {target} to complete, but {target} restarts")

    assert problems == []


def test_given_dockerfile_when_reading_it_then_it_runs_lianluo_unprivileged_and_exposes_the_compose_ports() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]

    def instruction(name: str) -> list[str]:
        return [line.split(None, 1)[1] for line in lines if line.upper().startswith(name + " ")]

    exposed = {int(p.split("/")[0]) for spec in instruction("EXPOSE") for p in spec.split()}
    env = service_env("serve")
    assert {int(env["LIANLUO_PORT"]), int(env["LIANLUO_AGI_PORT"])} <= exposed
    assert json.loads(instruction("ENTRYPOINT")[-1]) == ["lianluo"]
    assert json.loads(instruction("CMD")[-1])[0] in CLI_SUBCOMMANDS
    users = instruction("USER")
    assert users and users[-1].split(":")[0] not in {"root", "0"}


# ---------------------------------------------------------------- HTTP and FastAGI ports


def test_given_serve_service_when_reading_its_port_mapping_then_the_container_port_is_lianluo_port() -> None:
    env = service_env("serve")
    port = int(env["LIANLUO_PORT"])

    assert any(m.container == (port, port) and m.protocol == "tcp" for m in port_mappings(services()["serve"]))
    assert env["LIANLUO_HOST"] not in LOOPBACK


def test_given_serve_healthcheck_when_reading_its_url_then_it_asks_healthz_on_lianluo_port() -> None:
    test = services()["serve"]["healthcheck"]["test"]
    urls = re.findall(r"https?://[^\s'\"]+", test if isinstance(test, str) else " ".join(test))

    assert urls
    port = int(service_env("serve")["LIANLUO_PORT"])
    assert {(urlsplit(u).port, urlsplit(u).path) for u in urls} == {(port, "/healthz")}


def test_given_ivr_service_when_reading_its_ports_then_it_listens_on_lianluo_agi_port() -> None:
    env = service_env("ivr")

    assert int(env["LIANLUO_AGI_PORT"]) in listening_ports(services()["ivr"])
    assert env["LIANLUO_AGI_HOST"] not in LOOPBACK


def test_given_dialplan_agi_calls_when_reading_addresses_then_they_reach_the_ivr_service_on_its_port() -> None:
    addresses = [
        m for _, app in dialplan_applications() for m in re.finditer(r"agi://([^:/,)\s]+)(?::(\d+))?(/)?", app)
    ]

    assert addresses, "extensions.conf has no agi:// call"
    for match in addresses:
        host, port, slash = match.groups()
        assert platform_commands().get(host, [None])[0] == "ivr", f"{match[0]}: {host} is not the ivr service"
        assert port is not None and int(port) == int(service_env(host)["LIANLUO_AGI_PORT"]), match[0]
        assert slash, f"{match[0]}: no flow name after the port"


def test_given_trunk_endpoint_when_following_inbound_calls_then_they_land_in_the_context_that_runs_the_ivr() -> None:
    trunk = dialplan_globals().get("TRUNK")
    endpoints = pjsip_objects("endpoint")

    assert trunk in endpoints, f"extensions.conf TRUNK={trunk} is not a pjsip.conf endpoint"
    assert any(settings.get("endpoint") == trunk for settings in pjsip_objects("identify").values())
    ivr_contexts = {context for context, app in dialplan_applications() if "agi://" in app}
    assert endpoints[trunk].get("context") in ivr_contexts


# ---------------------------------------------------------------- AMI


def test_given_cti_environment_when_reading_ami_host_then_it_names_the_service_running_asterisk_conf() -> None:
    host = service_env("cti")["LIANLUO_AMI_HOST"]

    assert host in services()
    assert any(path == ASTERISK_CONF for path, _, _ in bind_mounts(services()[host]))


def test_given_manager_conf_when_compared_with_cti_environment_then_port_and_user_agree() -> None:
    manager = asterisk_conf("manager.conf")
    general = manager.settings("general")
    env = service_env("cti")

    assert general.get("enabled") == "yes"
    assert int(general.get("port", "5038")) == int(env["LIANLUO_AMI_PORT"])
    assert env["LIANLUO_AMI_USERNAME"] in manager.names() - {"general"}


def test_given_ami_secret_when_compose_fills_it_then_the_default_is_manager_conf_and_an_override_wins() -> None:
    user = asterisk_conf("manager.conf").settings(service_env("cti")["LIANLUO_AMI_USERNAME"])

    assert service_env("cti")["LIANLUO_AMI_SECRET"] == user["secret"]
    overridden = service_env("cti", {**REQUIRED_ENV, "LIANLUO_AMI_SECRET": "operator-chosen"})
    assert overridden["LIANLUO_AMI_SECRET"] == "operator-chosen"


def test_given_ami_user_when_reading_permissions_then_cti_controls_calls_and_queues_but_gets_no_shell() -> None:
    user = asterisk_conf("manager.conf").settings(service_env("cti")["LIANLUO_AMI_USERNAME"])
    read = {c.strip() for c in user.get("read", "").split(",")}
    write = {c.strip() for c in user.get("write", "").split(",")}

    assert {"system", "call", "agent"} <= read
    assert {"call", "agent", "originate"} <= write
    assert write.isdisjoint({"all", "system", "command", "config"})


def test_given_manager_acl_when_compared_with_the_compose_network_then_only_that_network_is_permitted() -> None:
    manager = asterisk_conf("manager.conf")
    user = service_env("cti")["LIANLUO_AMI_USERNAME"]
    denies = [ipaddress.ip_network(v, strict=False) for v in manager.values(user, "deny")]
    permits = [ipaddress.ip_network(v, strict=False) for v in manager.values(user, "permit")]
    subnets = compose_subnets()

    assert ipaddress.ip_network("0.0.0.0/0") in denies
    assert subnets, "docker-compose.yml must fix the network's subnet so manager.conf can permit it"
    assert all(any(s.subnet_of(p) for p in permits if p.version == s.version) for s in subnets)
    assert manager.settings("general").get("bindaddr", "0.0.0.0") not in LOOPBACK


# ---------------------------------------------------------------- database and bus


def test_given_database_url_when_parsed_then_it_names_the_postgres_service_database_and_credentials() -> None:
    env = {**REQUIRED_ENV, "POSTGRES_PASSWORD": "chosen-by-operator"}
    url = urlsplit(service_env("serve", env)["LIANLUO_DATABASE_URL"])
    database = services().get(url.hostname or "", {})
    database_env = service_env(url.hostname or "", env) if database else {}

    assert url.scheme == "postgresql+asyncpg"
    assert str(database.get("image", "")).startswith("postgres:")
    assert url.port in (None, 5432)
    assert url.path.lstrip("/") == database_env["POSTGRES_DB"]
    assert url.username == database_env.get("POSTGRES_USER", "postgres")
    assert url.password == database_env["POSTGRES_PASSWORD"] == "chosen-by-operator"


def test_given_bus_url_when_parsed_then_it_names_the_redis_service() -> None:
    url = urlsplit(service_env("serve")["LIANLUO_BUS_URL"])

    assert url.scheme == "redis"
    assert str(services().get(url.hostname or "", {}).get("image", "")).startswith("redis:")
    assert url.port in (None, 6379)


# ---------------------------------------------------------------- Asterisk service and configuration


def test_given_asterisk_service_when_reading_volumes_then_asterisk_conf_is_mounted_read_only_on_etc_asterisk() -> None:
    mounts = bind_mounts(services()["asterisk"])

    assert (ASTERISK_CONF, "/etc/asterisk", True) in mounts


def test_given_rtp_conf_when_compared_with_asterisk_ports_then_the_whole_rtp_range_is_published_unchanged() -> None:
    rtp = asterisk_conf("rtp.conf").settings("general")
    rtp_range = (int(rtp["rtpstart"]), int(rtp["rtpend"]))

    # Asterisk writes its own port numbers into SDP, so host and container ports must be the same.
    udp = [m for m in port_mappings(services()["asterisk"]) if m.protocol == "udp"]
    assert PortMapping(rtp_range, rtp_range, "udp") in udp


def test_given_pjsip_transports_when_compared_with_asterisk_ports_then_each_sip_port_is_published() -> None:
    transports = pjsip_objects("transport")
    published = {(m.container, m.host, m.protocol) for m in port_mappings(services()["asterisk"])}

    assert transports
    for name, settings in transports.items():
        port = int(settings["bind"].rsplit(":", 1)[1]) if ":" in settings["bind"] else 5060
        protocol = "udp" if settings.get("protocol", "udp") == "udp" else "tcp"
        assert ((port, port), (port, port), protocol) in published, f"transport {name} on {port}/{protocol}"


def test_given_pjsip_endpoints_when_resolving_references_then_contexts_auths_and_aors_exist() -> None:
    endpoints = pjsip_objects("endpoint")
    auths, aors, contexts = pjsip_objects("auth"), pjsip_objects("aor"), dialplan_contexts()
    problems = []
    for name, settings in endpoints.items():
        if settings.get("context", "default") not in contexts:
            problems.append(f"{name}: context {settings.get('context')} is not in extensions.conf")
        for key, known in (("auth", auths), ("outbound_auth", auths), ("aors", aors)):
            refs = [ref.strip() for ref in settings.get(key, "").split(",") if ref.strip()]
            problems += [f"{name}: {key} {ref} is not defined" for ref in refs if ref not in known]

    assert endpoints
    assert problems == []


def test_given_agent_phones_when_dialled_from_the_platform_contexts_then_each_extension_matches() -> None:
    phones = [name for name, cfg in pjsip_objects("endpoint").items() if cfg.get("context") == "from-internal"]
    contexts = dialplan_contexts()

    assert phones
    for context in ("agents", "outbound-agent", "from-internal"):
        unreachable = [p for p in phones if not any(pattern_matches(x, p) for x in contexts.get(context, []))]
        assert unreachable == [], f"[{context}] cannot reach {unreachable}"


def test_given_queue_calls_in_the_dialplan_when_resolved_then_each_named_queue_is_in_queues_conf() -> None:
    referenced = []
    for _, app in dialplan_applications():
        for match in re.finditer(r"\bQueue\(([^,)]*)", app, flags=re.I):
            name = resolve_globals(match[1]).strip()
            if "${" not in name:  # names still unresolved are set at run time (IVR_QUEUE)
                referenced.append(name)

    assert referenced, "no Queue() call with a name known before the call runs"
    assert sorted(set(referenced) - queue_names()) == []


def test_given_queues_conf_when_listing_queues_then_every_service_line_exists_with_platform_managed_wrapup() -> None:
    queues = asterisk_conf("queues.conf")

    assert {"complaints", "claims", "consultation", "general-service"} <= queue_names()
    for name in queue_names():
        settings = queues.settings(name)
        assert settings.get("wrapuptime") == "0", name
        assert settings.get("joinempty") == "yes", name
        assert "strategy" in settings and "timeout" in settings, name


def test_given_queue_music_classes_when_looked_up_then_musiconhold_conf_defines_each() -> None:
    classes = asterisk_conf("musiconhold.conf").names() - {"general"}
    queues = asterisk_conf("queues.conf")

    missing = {q: c for q in queue_names() if (c := queues.settings(q).get("musicclass", "default")) not in classes}
    assert missing == {}


# ---------------------------------------------------------------- Kannel


def test_given_kannel_sms_service_when_reading_its_url_then_replies_reach_serve_on_lianluo_port() -> None:
    services_ = [g for g in kannel_groups() if g.get("group") == "sms-service"]

    assert services_
    for group in services_:
        url = urlsplit(group["get-url"])
        assert platform_commands().get(url.hostname or "", [None])[0] == "serve", group["get-url"]
        assert url.port == int(service_env("serve")["LIANLUO_PORT"]), group["get-url"]


def test_given_kannel_sendsms_users_when_reading_allowed_addresses_then_the_compose_network_may_send() -> None:
    users = [g for g in kannel_groups() if g.get("group") == "sendsms-user"]
    subnets = compose_subnets()

    assert users and subnets
    for user in users:
        patterns = [p.strip() for p in user.get("user-allow-ip", "").split(";") if p.strip()]
        regexes = [re.escape(p).replace(r"\*", r"\d+") for p in patterns]
        for subnet in subnets:
            host = str(next(subnet.hosts()))
            assert any(re.fullmatch(r, host) for r in regexes), f"{user.get('username')}: {host} not allowed"
