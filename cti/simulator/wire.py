"""AMI wire format as Asterisk writes it: ``Key: Value`` lines, CRLF, a blank line after each message.

Header order matters to the byte-for-byte comparison with the recorded traces, so messages are lists
of pairs, and a channel's standard block is built in the one order Asterisk uses (optionally with a
prefix: ``Dest``, ``LocalOne``, ``LocalTwo``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cti.simulator.pbx import Channel

Fields = list[tuple[str, str]]

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
STATE_DESC = {0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
CAUSE_TEXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "User alerting, no answer",
              26: "Answered elsewhere", 34: "Circuit/channel congestion"}


def encode(fields: Fields) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode("utf-8")


def block(ch: Channel, prefix: str = "") -> Fields:
    return [
        (f"{prefix}Channel", ch.name), (f"{prefix}ChannelState", str(ch.state)),
        (f"{prefix}ChannelStateDesc", STATE_DESC[ch.state]), (f"{prefix}CallerIDNum", ch.cid_num),
        (f"{prefix}CallerIDName", ch.cid_name), (f"{prefix}ConnectedLineNum", ch.conn_num),
        (f"{prefix}ConnectedLineName", ch.conn_name), (f"{prefix}Language", "en"),
        (f"{prefix}AccountCode", ""), (f"{prefix}Context", ch.context), (f"{prefix}Exten", ch.exten),
        (f"{prefix}Priority", str(ch.priority)), (f"{prefix}Uniqueid", ch.uniqueid),
        (f"{prefix}Linkedid", ch.linkedid),
    ]


def response(action_id: str | None, status: str = "Success", *fields: tuple[str, str]) -> Fields:
    out: Fields = [("Response", status)]
    if action_id is not None:
        out.append(("ActionID", action_id))
    out.extend(fields)
    return out
