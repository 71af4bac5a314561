"""When `opstrack up` restarts a child that died: the decisions only, no processes, no clock.

A child that dies is started again after a delay that doubles with each death in
a row (0.5 s, 1 s, 2 s … at most 30 s), so a child that cannot start does not
spin. One that then ran well for a while (`healthy_after`) starts the count
afresh: a crash a day is always restarted at once. One that died
`give_up_after` times in a row, never running well in between, is a crash loop
that restarting will not cure: the supervisor gives up and stops the stack.
The caller passes the time (monotonic seconds), so tests drive it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    first: float = 0.5
    cap: float = 30.0
    healthy_after: float = 60.0
    give_up_after: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.cap:
            raise ValueError(f"backoff: first ({self.first}) must be > 0 and <= cap ({self.cap})")
        if self.healthy_after <= 0 or self.give_up_after < 1:
            raise ValueError("backoff: healthy_after must be > 0 and give_up_after >= 1")


@dataclass
class Restarts:
    """One child's restart book: `died(now)`, then `restarted(now)` once `due(now)`."""

    backoff: Backoff
    started_at: float
    in_a_row: int = 0  # deaths since the child last ran well
    total: int = 0  # restarts done: opstrack_stack_restarts_total
    due_at: float | None = None  # a restart is pending until then

    def died(self, now: float) -> float | None:
        """Record a death; the delay before the restart, or None: give up."""
        if now - self.started_at >= self.backoff.healthy_after:
            self.in_a_row = 0
        self.in_a_row += 1
        if self.in_a_row > self.backoff.give_up_after:
            self.due_at = None
            return None
        delay = min(self.backoff.first * 2.0 ** (self.in_a_row - 1), self.backoff.cap)
        self.due_at = now + delay
        return delay

    def pending(self) -> bool:
        return self.due_at is not None

    def due(self, now: float) -> bool:
        return self.due_at is not None and now >= self.due_at

    def restarted(self, now: float) -> None:
        self.started_at = now
        self.due_at = None
        self.total += 1
