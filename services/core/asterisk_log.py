"""The queue_log line format: which events end a stay, where their wait is, what is ignored.

Only the vocabulary of Asterisk's lines (described in `services.core.asterisk`),
kept apart from the parser so the stay snapshot can check its end events against it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

_LAST_EPOCH = 32_503_680_000  # 3000-01-01: the contract refuses later years


@dataclass(frozen=True, slots=True)
class EndKind:
    type: str  # the CloudEvents type
    reason: str | None  # call.exited's reason
    wait_field: int  # 0-based index into the data fields


# The events that end a queue stay.
ENDS: Mapping[str, EndKind] = {
    "CONNECT": EndKind("call.answered", None, 0),
    "ABANDON": EndKind("call.abandoned", None, 2),
    "EXITWITHTIMEOUT": EndKind("call.exited", "timeout", 2),
    "EXITWITHKEY": EndKind("call.exited", "key", 3),
    "EXITEMPTY": EndKind("call.exited", "empty", 2),
}
ENTER = "ENTERQUEUE"


@dataclass(frozen=True, slots=True)
class TalkKind:
    hold_field: int  # index into the data fields (negative: from the end)
    talk_field: int


# The lines that end an answered call's conversation, with its hold and talk time
# (docs.asterisk.org, Queue-Logs): COMPLETECALLER/COMPLETEAGENT(holdtime|calltime|
# origposition), TRANSFER/BLINDTRANSFER(extension|context|holdtime|calltime|
# origposition), ATTENDEDTRANSFER(method|method data…|holdtime|calltime|origposition),
# whose method data is one field (BRIDGE, APP) or two (LINK): counted from the end.
TALKS: Mapping[str, TalkKind] = {
    "COMPLETECALLER": TalkKind(0, 1),
    "COMPLETEAGENT": TalkKind(0, 1),
    "TRANSFER": TalkKind(2, 3),
    "BLINDTRANSFER": TalkKind(2, 3),
    "ATTENDEDTRANSFER": TalkKind(-3, -2),
}

# Recognised and ignored on purpose: ring attempts, members and agents, and the
# queue system itself.
IGNORED: frozenset[str] = frozenset(
    {
        # ring attempts inside a stay; the stay's end comes on its own line
        "RINGNOANSWER",
        "RINGCANCELED",
        "AGENTDUMP",
        "SYSCOMPAT",
        # members and agents
        "AGENTLOGIN",
        "AGENTLOGOFF",
        "AGENTCALLBACKLOGIN",
        "AGENTCALLBACKLOGOFF",
        "ADDMEMBER",
        "REMOVEMEMBER",
        "PAUSE",
        "UNPAUSE",
        "PAUSEALL",
        "UNPAUSEALL",
        "PENALTY",
        # the queue system; DID is written by FreePBX (the number dialled)
        "CONFIGRELOAD",
        "QUEUESTART",
        "DID",
    }
)
NO_ID = frozenset({"", "NONE", "REALTIME"})


def number(text: str) -> float | None:
    """A non-negative number of seconds (an int when it is whole), or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or not 0 <= value < _LAST_EPOCH:
        return None
    return int(value) if value.is_integer() else value


def event_name(text: str) -> str:
    # Echo a name only if it looks like one: a line's other fields may hold personal data.
    name = text.strip()
    return (
        repr(name)
        if name and len(name) <= 40 and name.replace("_", "").isalnum()
        else "(unreadable)"
    )
