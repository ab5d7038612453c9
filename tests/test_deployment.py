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
from urllib.parse import urlsplit

import pytest

from backend.core.settings import Settings
from tests.deploy_config import (
    ASTERISK_CONF,
    CLI_SUBCOMMANDS,
    DOCKERFILE,
    LOOPBACK,
    PLATFORM_PROCESSES,
    REQUIRED_ENV,
    ROOT,
    AsteriskConf,
    PortMapping,
    asterisk_conf,
    bind_mounts,
    compose_subnets,
    depends_on,
    dialplan_applications,
    dialplan_contexts,
    dialplan_globals,
    interpolate,
    kannel_groups,
    listening_ports,
    parse_asterisk_conf,
    pattern_matches,
    pjsip_objects,
    platform_commands,
    port_mappings,
    queue_names,
    raw_environment,
    resolve_globals,
    service_env,
    services,
)

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


def test_given_telephony_settings_when_resolved_then_each_context_and_queue_they_name_exists() -> None:
    settings, contexts = Settings(), dialplan_contexts()

    for name in ("dial_context", "transfer_context", "campaign_context", "agent_context"):
        assert getattr(settings, name) in contexts, f"{name}={getattr(settings, name)} is not in extensions.conf"
    assert sorted(set(settings.cti_queues) - queue_names()) == []
    # every queue an agent can log in to can also receive a transfer, by its own name
    unreachable = [q for q in settings.cti_queues
                   if not any(pattern_matches(x, q) for x in contexts[settings.transfer_context])]
    assert unreachable == []
    # a click-to-call (prefix + outside number) and a campaign customer leg both find an extension
    assert any(pattern_matches(x, settings.dial_prefix + "13800000001") for x in contexts[settings.dial_context])
    assert any(pattern_matches(x, "13800000001") for x in contexts[settings.campaign_context])


def test_given_inbound_calls_when_reading_the_dialplan_then_they_are_recorded_under_the_name_the_platform_expects(
) -> None:
    from cti.commands import recording_name

    inbound = [app for context, app in dialplan_applications() if context == "from-trunk"]
    monitors = [app for app in inbound if app.startswith("MixMonitor(")]
    assert monitors, "inbound calls are not recorded"
    assert monitors[0].split("(", 1)[1].split(",", 1)[0] == recording_name("${UNIQUEID}")


def test_given_attended_transfers_when_reading_the_config_then_agents_may_transfer_and_atxfer_has_a_code() -> None:
    assert asterisk_conf("features.conf").settings("featuremap").get("atxfer"), "Atxfer needs a feature code"
    queue_calls = [app for _, app in dialplan_applications() if app.lower().startswith("queue(")]
    assert queue_calls and all("t" in app.split(",")[1] for app in queue_calls), queue_calls


def test_given_queues_conf_when_listing_queues_then_every_service_line_exists_with_platform_managed_wrapup() -> None:
    queues = asterisk_conf("queues.conf")

    assert {"complaints", "claims", "consultation", "callbacks", "vip", "general-service"} <= queue_names()
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


def test_given_the_pbx_simulator_when_built_for_pjsip_then_its_queues_are_those_of_queues_conf() -> None:
    from cti.simulator.config import default_queues

    queues = asterisk_conf("queues.conf")
    simulated = {q.name: q.strategy for q in default_queues("pjsip")}
    assert simulated == {name: queues.settings(name)["strategy"] for name in queue_names()}
