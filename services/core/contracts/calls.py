"""Phone-queue calls [topic `calls`]: a call enters a queue and ends its stay once.

An answered call may later report its conversation (`call.completed`, with the talk
time) when the source knows it; it ends no stay and counts no call again.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.core.contracts.envelope import Data, Envelope, Instant, Name

# A queue stay longer than a day is a clock or export error, not a call.
WaitSeconds = Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)]
TalkSeconds = Annotated[
    float,
    Field(ge=0, le=86_400, allow_inf_nan=False, description="talk time of the answered call"),
]
EnteredAt = Annotated[
    Instant | None,
    Field(
        description="when the call entered the queue, where the source logged it: the "
        "hour the call counts in (else the event's time minus the wait)"
    ),
]


class CallData(Data):
    entity = "call_id"
    call_id: Name
    queue: Name
    municipality: Name


class CallQueuedData(CallData):
    """A call entered a queue; it counts only once its stay has ended."""


class StayEndData(CallData):
    entered_at: EnteredAt = None


class CallAnsweredData(StayEndData):
    wait_seconds: WaitSeconds


class CallAbandonedData(StayEndData):
    wait_seconds: WaitSeconds


class CallCompletedData(StayEndData):
    """An answered call's conversation ended (hang-up or transfer): its talk time.

    wait_seconds is the answered call's wait again, so the call's entry hour is
    known without its call.answered (time - talk_seconds - wait_seconds).
    """

    wait_seconds: WaitSeconds
    talk_seconds: TalkSeconds


class CallExitedData(StayEndData):
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


class CallCompleted(Envelope):
    type: Literal["call.completed"]
    data: CallCompletedData


class CallExited(Envelope):
    type: Literal["call.exited"]
    data: CallExitedData


CallEvent = CallQueued | CallAnswered | CallAbandoned | CallExited | CallCompleted
