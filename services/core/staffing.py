"""Queueing models for staffing: Erlang C (M/M/n) and Erlang A (M/M/n+M).

Pure functions, no I/O. Written here rather than taken from a library: pyworkforce,
the maintained one, pulls in numpy, scipy, pandas and ortools for a few dozen lines
of arithmetic (issue 16).

Notation: calls arrive at `rate` per second (Poisson), are handled in `aht` seconds on
average (exponential), `agents` agents serve one FIFO queue; offered load
A = rate * aht in erlangs. Service level is judged at `within` seconds.

Sources:
- Erlang B recursion B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1)): numerically stable
  for any n (no factorials or powers); e.g. G. Koole, "Call Center Optimization"
  (MG books, 2013), section 5.2, and Wikipedia "Erlang (unit)".
- Erlang C from Erlang B: C(n, A) = n B / (n - A (1 - B)), for n > A; service level
  SL(t) = 1 - C exp(-(n - A) t / aht); ASA = C aht / (n - A); occupancy A / n.
  Koole (2013) section 5.1; Gans, Koole and Mandelbaum, "Telephone call centers:
  tutorial, review, and research prospects", MSOM 5(2), 2003, section 4.1.
- Erlang A (Palm's M/M/n+M, exponential patience with mean `patience`): the
  birth-death chain on the number of calls in the system, birth rate = rate, death
  rate min(k, n)/aht + max(k - n, 0)/patience; the service-level, abandon and ASA
  figures are those of Mandelbaum and Zeltyn, "The Palm/Erlang-A queue, with
  applications to call centers" (2007, Technion working paper), section 2, computed
  here from the chain's stationary distribution (truncated where its tail is below
  1e-14) and, for the waiting-time distribution, from the tagged caller's position
  in the queue (a pure-death chain, solved by uniformization).
- Patience estimate: with exponential patience the censored maximum-likelihood
  estimate of the abandon rate is abandoned calls / total waiting time of all calls
  (Mandelbaum and Zeltyn, section 4; Brown et al., "Statistical analysis of a
  telephone call center", JASA 100, 2005), so mean patience = total wait / abandoned.
- Shrinkage: scheduled = raw / (1 - shrinkage), rounded up (the textbook example
  14 agents at 30 % shrinkage -> 20).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Stop summing the stationary distribution where a term is this small against the largest.
_TAIL = 1e-14
# Uniformization steps: keep rate * step small so exp(-rate * step) never underflows.
_MAX_JUMP_MASS = 20.0
# No staffing search goes further than this (a bad input, not a real queue).
_MAX_AGENTS = 100_000


class StaffingError(ValueError):
    """An input of the queueing model is out of range; the message names it."""


def _positive(name: str, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise StaffingError(f"{name} must be a positive finite number, got {value!r}")


def _fraction(name: str, value: float, *, upper_open: bool = True) -> None:
    ok = 0 <= value < 1 if upper_open else 0 < value <= 1
    if not ok:
        bounds = "[0, 1)" if upper_open else "(0, 1]"
        raise StaffingError(f"{name} must be in {bounds}, got {value!r}")


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of M/M/n/n with `load` erlangs (the stable recursion)."""
    if agents < 0:
        raise StaffingError(f"agents must be >= 0, got {agents}")
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """Probability that a call waits in M/M/n; 1 when the queue is unstable (n <= A)."""
    if agents <= load:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1 - b))


@dataclass(frozen=True, slots=True)
class Performance:
    """What a model expects at one staffing.

    service_level: share of offered calls answered within the threshold (abandons in
    the denominator, as opstrack's own service level); Erlang C has no abandons.
    mean_wait_seconds: mean time in queue of all offered calls (for Erlang C, where
    every call is answered, the ASA); occupancy: busy agents / agents.
    """

    agents: int
    service_level: float
    occupancy: float
    mean_wait_seconds: float
    wait_probability: float
    abandon_probability: float


def erlang_c_performance(agents: int, rate: float, aht: float, within: float) -> Performance:
    """Erlang C figures for `agents` agents; an unstable queue has service level 0."""
    _positive("rate", rate)
    _positive("aht", aht)
    load = rate * aht
    c = erlang_c(agents, load)
    if agents <= load:
        return Performance(agents, 0.0, 1.0, math.inf, 1.0, 0.0)
    sl = 1 - c * math.exp(-(agents - load) * within / aht)
    return Performance(
        agents=agents,
        service_level=sl,
        occupancy=load / agents,
        mean_wait_seconds=c * aht / (agents - load),
        wait_probability=c,
        abandon_probability=0.0,
    )


def _stationary(agents: int, rate: float, aht: float, patience: float) -> list[float]:
    """Stationary distribution of the Erlang A chain, truncated, normalised."""
    mu, theta = 1 / aht, 1 / patience
    # Unnormalised, scaled as we go so the largest term stays near 1 (no overflow).
    terms = [1.0]
    k = 0
    peak = 1.0
    while True:
        k += 1
        death = min(k, agents) * mu + max(k - agents, 0) * theta
        nxt = terms[-1] * rate / death
        if nxt > 1e200:
            scale = 1 / nxt
            terms = [t * scale for t in terms]
            peak *= scale
            nxt = 1.0
        terms.append(nxt)
        peak = max(peak, nxt)
        # Past the mode (death rate above birth rate) the terms only shrink.
        if death > rate and nxt < _TAIL * peak:
            break
    s = math.fsum(terms)
    return [t / s for t in terms]


def _answered_within(
    start: list[float], agents: int, aht: float, patience: float, within: float
) -> float:
    """P(a caller who must wait reaches an agent within `within` s), weighted by `start`.

    start[j] is the probability of arriving as the j-th caller in the queue (j >= 1;
    start[0] is unused). At position j the caller moves up at rate n/aht (an agent
    frees) + (j-1)/patience (one ahead hangs up) and hangs up himself at 1/patience:
    a pure-death chain with two absorbing ends, served and abandoned. Uniformization
    (Poisson-weighted jumps of the embedded chain) keeps every term positive, so the
    sum is stable; the interval is cut so no Poisson weight underflows.
    """
    mu, theta = 1 / aht, 1 / patience
    size = len(start)
    if size < 2 or within <= 0:
        return 0.0
    up = [0.0] + [agents * mu + (j - 1) * theta for j in range(1, size)]
    leave = [0.0] + [up[j] + theta for j in range(1, size)]
    lam = max(leave)
    steps = max(1, math.ceil(lam * within / _MAX_JUMP_MASS))
    mass = lam * within / steps
    p = list(start)
    served = 0.0
    for _ in range(steps):
        weight = math.exp(-mass)  # Poisson(mass) probability of k jumps, k = 0 first
        cur = p
        end = [weight * x for x in cur]
        absorbed = 0.0  # mass served after the first k jumps of this sub-interval
        covered = weight
        k = 0
        while 1.0 - covered > 1e-15:
            k += 1
            absorbed += cur[1] * up[1] / lam
            moved = [0.0] * size
            for j in range(1, size):
                moved[j] += cur[j] * (1 - leave[j] / lam)
                if j >= 2:
                    moved[j - 1] += cur[j] * up[j] / lam
            cur = moved
            weight *= mass / k
            covered += weight
            for j in range(1, size):
                end[j] += weight * cur[j]
            served += weight * absorbed
        p = end
    return served


def erlang_a_performance(
    agents: int, rate: float, aht: float, within: float, patience: float
) -> Performance:
    """Erlang A figures for `agents` agents, callers' mean patience `patience` seconds."""
    _positive("rate", rate)
    _positive("aht", aht)
    _positive("patience", patience)
    if agents < 1:
        raise StaffingError(f"agents must be >= 1, got {agents}")
    pi = _stationary(agents, rate, aht, patience)
    theta = 1 / patience
    wait_p = math.fsum(pi[agents:])
    queue_len = math.fsum((k - agents) * pi[k] for k in range(agents + 1, len(pi)))
    abandon = theta * queue_len / rate  # Little + PASTA: abandons per second / arrivals
    # An arrival that finds k >= n calls in the system is caller j = k - n + 1 in queue.
    start = [0.0, *pi[agents:]]
    answered_waiting = _answered_within(start, agents, aht, patience, within)
    sl = (1 - wait_p) + answered_waiting
    busy = rate * (1 - abandon) * aht  # served load, erlangs
    return Performance(
        agents=agents,
        service_level=min(1.0, sl),
        occupancy=busy / agents,
        mean_wait_seconds=queue_len / rate,  # Little's law on the queue
        wait_probability=wait_p,
        abandon_probability=abandon,
    )


def required_agents_c(rate: float, aht: float, within: float, target: float) -> Performance:
    """The fewest agents for which Erlang C expects service level >= target."""
    _positive("rate", rate)
    _positive("aht", aht)
    _fraction("target", target)
    n = max(1, math.floor(rate * aht) + 1)
    while n < _MAX_AGENTS:
        perf = erlang_c_performance(n, rate, aht, within)
        if perf.service_level >= target:
            return perf
        n += 1
    raise StaffingError(f"no staffing below {_MAX_AGENTS} agents reaches {target}")


def required_agents_a(
    rate: float, aht: float, within: float, target: float, patience: float
) -> Performance:
    """The fewest agents for which Erlang A expects service level >= target."""
    _positive("rate", rate)
    _positive("aht", aht)
    _fraction("target", target)
    n = 1
    while n < _MAX_AGENTS:
        perf = erlang_a_performance(n, rate, aht, within, patience)
        if perf.service_level >= target:
            return perf
        n += 1
    raise StaffingError(f"no staffing below {_MAX_AGENTS} agents reaches {target}")


def with_shrinkage(agents: int, shrinkage: float) -> int:
    """Agents to schedule so that `agents` are on the phones after shrinkage."""
    _fraction("shrinkage", shrinkage)
    # Round before ceil: 14 / 0.7 is 20.000000000000004 in floating point.
    return math.ceil(round(agents / (1 - shrinkage), 9))


def patience_estimate(total_wait_seconds: float, abandoned: int) -> float | None:
    """Mean patience (seconds) from the censored MLE; None without any abandon."""
    if abandoned <= 0 or total_wait_seconds <= 0:
        return None
    return total_wait_seconds / abandoned
