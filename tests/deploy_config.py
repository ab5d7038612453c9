"""Readers of the deployment files: Asterisk .conf files (sections, templates, ``=>`` lines), the
dialplan, docker-compose.yml (interpolation, ports, environment) and Kannel's config.

Used by tests/test_deployment.py; kept apart so telephony tests can read asterisk_conf/ the same way.
"""

import ipaddress
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

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
