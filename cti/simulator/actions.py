"""AMI actions of the simulated PBX, answered with the messages and quirks of the recorded traces."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti.simulator import queue_actions
from cti.simulator.flows import Originate, parse_callerid
from cti.simulator.spy import originate_app
from cti.simulator.transfers import start_atxfer
from cti.simulator.wire import block

if TYPE_CHECKING:
    from cti.simulator.ami_server import AmiConnection, Headers

UNKNOWN_ACTION = "Invalid/unknown command: {}. Use Action: ListCommands to show available commands."
NO_CHANNEL = "No such channel"


async def dispatch(conn: AmiConnection, h: Headers) -> None:
    name = h.get("Action") or ""
    handler = HANDLERS.get(name.lower())
    if not conn.authed and name.lower() != "login":
        conn.reply(h, "Error", ("Message", "Permission denied"))
        return
    if handler is None:
        conn.reply(h, "Error", ("Message", UNKNOWN_ACTION.format(name)))
        conn.security_event("RequestBadFormat", "Error", ("SessionID", conn.session_id), ("LocalAddress", conn.local),
                            ("RemoteAddress", conn.remote), ("RequestType", f"Action: {name}"),
                            tail=[("AccountID", conn.sim.config.username)])  # after SessionTV on this one
        return
    await handler(conn, h)


async def login(conn: AmiConnection, h: Headers) -> None:
    sim = conn.sim
    if h.get("Username") != sim.config.username or h.get("Secret") != sim.config.secret:
        await sim.clock.sleep(sim.config.bad_login_delay)
        conn.reply(h, "Error", ("Message", "Authentication failed"))
        await conn.writer.drain()
        conn.close()
        return
    conn.authed = True
    conn.events_on = (h.get("Events") or "on").lower() not in ("off", "no", "false")
    conn.reply(h, "Success", ("Message", "Authentication accepted"))
    uptime = str(sim.clock.uptime)
    conn.send([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", uptime), ("LastReload", uptime),
               ("Status", "Fully Booted")])
    conn.security_event("SuccessfulAuth", "Informational", ("AccountID", sim.config.username),
                        ("SessionID", conn.session_id), ("LocalAddress", conn.local), ("RemoteAddress", conn.remote),
                        ("UsingPassword", "0"))


async def logoff(conn: AmiConnection, h: Headers) -> None:
    conn.reply(h, "Goodbye", ("Message", "Thanks for all the fish."))
    await conn.writer.drain()
    conn.close()


async def ping(conn: AmiConnection, h: Headers) -> None:
    conn.reply(h, "Success", ("Ping", "Pong"), ("Timestamp", f"{conn.sim.clock.now():.6f}"))


async def events(conn: AmiConnection, h: Headers) -> None:
    conn.events_on = (h.get("EventMask") or "on").lower() not in ("off", "no", "false")
    conn.reply(h, "Success", ("Events", "On" if conn.events_on else "Off"))


async def core_status(conn: AmiConnection, h: Headers) -> None:
    from datetime import UTC, datetime
    booted = datetime.fromtimestamp(conn.sim.clock.booted, UTC)
    date, time = booted.strftime("%Y-%m-%d"), booted.strftime("%H:%M:%S")
    conn.reply(h, "Success", ("CoreStartupDate", date), ("CoreStartupTime", time), ("CoreReloadDate", date),
               ("CoreReloadTime", time), ("CoreCurrentCalls", str(len({c.linkedid for c in conn.sim.pbx.channels.values()}))),
               ("CoreProcessedCalls", str(conn.sim.pbx.processed_calls)))


async def command(conn: AmiConnection, h: Headers) -> None:
    cli = (h.get("Command") or "").strip()
    if cli == "core show version":
        conn.reply(h, "Success", ("Message", "Command output follows"),
                   ("Output", f"Asterisk {conn.sim.config.version} built by root @ vm on a x86_64 running Linux"))
        return
    conn.reply(h, "Error", ("Message", "Command output follows"),
               ("Output", f"No such command '{cli}' (type 'core show help {' '.join(cli.split()[:2])}' for other "
                          "possible commands)"))


async def status(conn: AmiConnection, h: Headers) -> None:
    action_id, wanted, now = h.get("ActionID") or "", h.get("Channel"), conn.sim.clock.now()
    chans = [c for c in conn.sim.pbx.channels.values() if not wanted or c.name == wanted]
    if wanted and not chans:
        conn.reply(h, "Error", ("Message", NO_CHANNEL))
        return
    items = [[("Event", "Status"), ("Privilege", "Call"), *block(c), ("Type", c.tech), ("DNID", ""),
              ("EffectiveConnectedLineNum", c.conn_num), ("EffectiveConnectedLineName", c.conn_name),
              ("TimeToHangup", "0"), ("BridgeID", c.bridge.uniqueid if c.bridge else ""), ("Application", c.app),
              ("Data", c.app_data), ("Nativeformats", "(slin)" if c.tech == "Local" else "(ulaw)"),
              ("Readformat", "slin"), ("Readtrans", ""), ("Writeformat", "slin"), ("Writetrans", ""),
              ("Callgroup", "0"), ("Pickupgroup", "0"), ("Seconds", str(int(now - c.created))),
              ("ActionID", action_id)] for c in chans]
    conn.reply_list(h, "Channel status will follow", items, "StatusComplete", ("Items", str(len(items))))


async def core_show_channels(conn: AmiConnection, h: Headers) -> None:
    action_id, now = h.get("ActionID") or "", conn.sim.clock.now()
    items = []
    for c in conn.sim.pbx.channels.values():
        secs = int(now - c.created)
        items.append([("Event", "CoreShowChannel"), ("ActionID", action_id), *block(c), ("Application", c.app),
                      ("ApplicationData", c.app_data),
                      ("Duration", f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"),
                      ("BridgeId", c.bridge.uniqueid if c.bridge else "")])
    conn.reply_list(h, "Channels will follow", items, "CoreShowChannelsComplete")


async def originate(conn: AmiConnection, h: Headers) -> None:
    channel = h.get("Channel")
    if not channel:
        conn.reply(h, "Error", ("Message", "Channel not specified"))
        return
    if h.get("Exten") and not (h.get("Context") and h.get("Priority")):
        conn.reply(h, "Error", ("Message", "Originate with 'Exten' requires 'Context' and 'Priority'"))
        return
    variables = [tuple(v.split("=", 1)) for v in h.getall("Variable") if "=" in v]
    o = Originate(channel, h.get("Context") or "default", h.get("Exten") or "s", int(h.get("Priority") or 1),
                  h.get("ActionID"), parse_callerid(h.get("CallerID") or ""),
                  float(h.get("Timeout") or 30000) / 1000, variables)  # type: ignore[arg-type]
    app = h.get("Application")
    run = originate_app(conn.sim.dialplan, o, app, h.get("Data") or "") if app else conn.sim.dialplan.originate(o)
    if (h.get("Async") or "").lower() in ("true", "yes", "1"):
        conn.reply(h, "Success", ("Message", "Originate successfully queued"))
        conn.sim.dialplan.spawn(run, "originate")
        return
    await run
    conn.reply(h, "Success", ("Message", "Originate successfully queued"))


async def hangup(conn: AmiConnection, h: Headers) -> None:
    ch = conn.sim.pbx.find(h.get("Channel") or "")
    if ch is None:
        conn.reply(h, "Error", ("Message", NO_CHANNEL))
        return
    conn.reply(h, "Success", ("Message", "Channel Hungup"))
    conn.sim.pbx.request(ch, int(h.get("Cause") or 0) or 16)
    if ch.partner is not None:
        ch.hup_cause = 0


async def redirect(conn: AmiConnection, h: Headers) -> None:
    name = h.get("Channel") or ""
    ch = conn.sim.pbx.find(name)
    if ch is None:
        conn.reply(h, "Error", ("Message", f"Channel does not exist: {name}"))
        return
    conn.reply(h, "Success", ("Message", "Redirect successful"))
    conn.sim.dialplan.redirect(ch, h.get("Context") or ch.context, h.get("Exten") or "s", int(h.get("Priority") or 1))


async def atxfer(conn: AmiConnection, h: Headers) -> None:
    """Asterisk queues the atxfer feature code and the digits on the transferer's channel and answers at once;
    the transfer itself then runs in the bridge (``transfers``)."""
    name, exten = h.get("Channel"), h.get("Exten")
    if not name:
        conn.reply(h, "Error", ("Message", "No channel specified"))
        return
    if not exten:
        conn.reply(h, "Error", ("Message", "No extension specified"))
        return
    ch = conn.sim.pbx.find(name)
    if ch is None:  # manager.c's own wording for this action, unlike Hangup/Getvar's "No such channel"
        conn.reply(h, "Error", ("Message", "Channel specified does not exist"))
        return
    conn.reply(h, "Success", ("Message", "Atxfer successfully queued"))
    start_atxfer(conn.sim.dialplan, ch, h.get("Context"), exten)


async def pjsip_notify(conn: AmiConnection, h: Headers) -> None:
    """res_pjsip_notify: a NOTIFY to every contact of the endpoint; a simulated phone acts on it (``sim.notify``)."""
    endpoint = h.get("Endpoint") or ""
    if not endpoint:
        conn.reply(h, "Error", ("Message", "PJSIPNotify requires either an endpoint name or a SIP URI."))
        return
    for prefix in ("sip/", "pjsip/"):  # res_pjsip_notify strips these, in this order
        if endpoint.lower().startswith(prefix):
            endpoint = endpoint[len(prefix):]
    if f"PJSIP/{endpoint}" not in conn.sim.queues.phones and endpoint != conn.sim.config.trunk:
        conn.reply(h, "Error", ("Message", f"Unable to retrieve endpoint {endpoint}"))
        return
    conn.reply(h, "Success", ("Message", "NOTIFY sent"))
    headers = dict(v.split("=", 1) for v in h.getall("Variable") if "=" in v)
    conn.sim.notify(f"PJSIP/{endpoint}", headers)


async def play_dtmf(conn: AmiConnection, h: Headers) -> None:
    """app_senddtmf's PlayDTMF; with ``Receive`` the digit is taken as keyed on the channel's own phone."""
    ch = conn.sim.pbx.find(h.get("Channel") or "")
    digit = h.get("Digit") or ""
    if ch is None:
        conn.reply(h, "Error", ("Message", "Channel not found"))
        return
    if not digit:
        conn.reply(h, "Error", ("Message", "No digit specified"))
        return
    conn.reply(h, "Success", ("Message", "DTMF successfully queued"))
    if (h.get("Receive") or "").lower() in ("1", "yes", "true", "on", "y", "t"):
        conn.sim.pbx.dtmf(ch, digit[0], end=False)
        conn.sim.pbx.dtmf(ch, digit[0], end=True)
        conn.sim.features.keyed(ch, digit[0])


async def setvar(conn: AmiConnection, h: Headers) -> None:
    name = h.get("Channel")
    ch = conn.sim.pbx.find(name) if name else None
    if name and ch is None:
        conn.reply(h, "Error", ("Message", NO_CHANNEL))
        return
    conn.reply(h, "Success", ("Message", "Variable Set"))
    conn.sim.pbx.set_var(ch, h.get("Variable") or "", h.get("Value") or "")


async def getvar(conn: AmiConnection, h: Headers) -> None:
    name, variable = h.get("Channel"), h.get("Variable")
    ch = conn.sim.pbx.find(name) if name else None
    if name and ch is None:
        conn.reply(h, "Error", ("Message", NO_CHANNEL))
        return
    if not variable:
        conn.reply(h, "Error", ("Message", "No variable specified"))
        return
    conn.reply(h, "Success", ("Variable", variable), ("Value", conn.sim.pbx.get_var(ch, variable)))


async def mix_monitor(conn: AmiConnection, h: Headers) -> None:
    ch = conn.sim.pbx.find(h.get("Channel") or "")
    if ch is None:
        conn.reply(h, "Error", ("Message", NO_CHANNEL))
        return
    conn.reply(h, "Success")
    conn.sim.recorder.mix_monitor(ch, h.get("File"), h.get("Options") or "")


async def stop_mix_monitor(conn: AmiConnection, h: Headers) -> None:
    ch = conn.sim.pbx.find(h.get("Channel") or "")
    if ch is None or not conn.sim.recorder.recording(ch):
        conn.reply(h, "Error", ("Message", NO_CHANNEL if ch is None else "Could not stop monitoring channel"))
        return
    await conn.sim.recorder.stop(ch)
    conn.reply(h, "Success")
    conn.sim.pbx.ch_event("MixMonitorStop", ch)


HANDLERS = {
    "login": login, "logoff": logoff, "ping": ping, "events": events, "corestatus": core_status,
    "command": command, "status": status, "coreshowchannels": core_show_channels, "originate": originate,
    "hangup": hangup, "redirect": redirect, "atxfer": atxfer, "setvar": setvar, "getvar": getvar,
    "mixmonitor": mix_monitor, "stopmixmonitor": stop_mix_monitor, "pjsipnotify": pjsip_notify,
    "playdtmf": play_dtmf, **queue_actions.HANDLERS,
}
