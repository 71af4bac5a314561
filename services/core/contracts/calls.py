"""Phone-queue calls [topic `calls`]: a call enters a queue and ends its stay once."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.core.contracts.envelope import Data, Envelope, Name

# A queue stay longer than a day is a clock or export error, not a call.
WaitSeconds = Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)]


class CallData(Data):
    entity = "call_id"
    call_id: Name
    queue: Name
    municipality: Name


class CallQueuedData(CallData):
    """A call entered a queue; it counts only once its stay has ended."""


class CallAnsweredData(CallData):
    wait_seconds: WaitSeconds


class CallAbandonedData(CallData):
    wait_seconds: WaitSeconds


class CallExitedData(CallData):
    reason: Literal["timeout", "key", "empty", "full", "closed"]
    wait_seconds: WaitSeconds


class CallQueued(Envelope):
    type: Literal["call.queued"]
    data: CallQueuedData


class CallAnswered(Envelope):
    type: Literal["call.answered"]
    data: CallAnsweredData


class CallAbandoned(Envelope):
    type: Literal["call.abandoned"]
    data: CallAbandonedData


class CallExited(Envelope):
    type: Literal["call.exited"]
    data: CallExitedData


CallEvent = CallQueued | CallAnswered | CallAbandoned | CallExited
