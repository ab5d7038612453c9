"""Dynamic features (features.conf ``[applicationmap]``) of agent phones' channels in the production
dialplan, and what keying their digits in a bridge does: the feature's PJSIPNotify() sends the phone a
NOTIFY inside the call's dialog, and the simulated phone acts on it (``PbxSimulator.notify``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cti.simulator.pbx import Channel
    from cti.simulator.simulator import PbxSimulator

AGENT_FEATURES = "lianluo_hold#lianluo_talk"  # extensions.conf AGENT_FEATURES, set by [agent-features]
APPLICATIONMAP = {  # name → (digits, application, data), as in asterisk_conf/features.conf
    "lianluo_hold": ("*81", "PJSIPNotify", ",&Event=hold"),
    "lianluo_talk": ("*82", "PJSIPNotify", ",&Event=talk"),
}


class FeatureKeys:
    """Digits received on bridged channels, matched against the features each channel has enabled: a
    prefix of a code is held back, a code runs its feature, anything else passes on as plain DTMF."""

    def __init__(self, sim: PbxSimulator) -> None:
        self.sim = sim
        self.pending: dict[str, str] = {}  # channel name → digits keyed so far
        sim.pbx.hangup_hooks.append(self._forget)

    def keyed(self, ch: Channel, digit: str) -> None:
        if ch.bridge is None or ch.reading_dtmf:  # an application (an attended transfer) reads them itself
            return
        enabled = [APPLICATIONMAP[n] for n in ch.vars.get("DYNAMIC_FEATURES", "").split("#") if n in APPLICATIONMAP]
        keys = self.pending.pop(ch.name, "") + digit
        feature = next((f for f in enabled if f[0] == keys), None)
        if feature is not None:
            self._run(ch, feature[1], feature[2])
        elif any(code.startswith(keys) for code, _, _ in enabled):
            self.pending[ch.name] = keys

    def _forget(self, ch: Channel) -> None:
        self.pending.pop(ch.name, None)

    def _run(self, ch: Channel, app: str, data: str) -> None:
        self.sim.pbx.newexten(ch, app, data, priority=ch.priority)
        if app == "PJSIPNotify" and data.startswith(","):  # no URI: inside the channel's own dialog
            headers = dict(pair.split("=", 1) for pair in data[1:].lstrip("&").split("&") if "=" in pair)
            self.sim.notify(ch.device, headers, ch)
