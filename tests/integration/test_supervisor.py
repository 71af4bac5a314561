"""The supervisor's loop with real child processes: one that crashes at once is
restarted with backoff while the other keeps running, each restart is said and
counted in the state file, and a crash loop ends in giving up with everything stopped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from services.observability.stack_metrics import read_restarts, write_restarts
from services.stack.procs import spawn
from services.stack.restarts import Backoff
from services.stack.supervisor import ChildSpec, Stack, StackConfig, StackError, run_until_stopped

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def test_a_crash_loop_is_restarted_with_backoff_then_given_up_and_all_stopped(
    tmp_path: Path,
) -> None:
    config = StackConfig(state_dir=tmp_path, kafka="127.0.0.1:9")  # no embedded broker
    specs = {
        # Prints, then dies at once, every time.
        "worker": ChildSpec(
            [sys.executable, "-c", "print('worker starting'); raise SystemExit(3)"],
            {},
            tmp_path / "worker.log",
        ),
        # Runs until stopped.
        "api": ChildSpec(
            [sys.executable, "-c", "import time; time.sleep(120)"], {}, tmp_path / "api.log"
        ),
    }
    children = {name: spawn(s.argv, s.env, s.log) for name, s in specs.items()}
    stack = Stack(config, config.kafka or "", None, children, tmp_path, specs=specs)
    write_restarts(stack.restarts_file, {"api": 0, "worker": 0})
    said: list[str] = []
    api = children["api"]

    backoff = Backoff(first=0.05, cap=0.1, healthy_after=30.0, give_up_after=3)
    with pytest.raises(StackError, match="the worker died 4 times in a row") as failed:
        run_until_stopped(stack, said.append, backoff)

    assert "worker starting" in str(failed.value)  # with its log's end
    # 3 restarts at 0.05, 0.1 and 0.1 s (the cap); the 4th death gives up.
    assert read_restarts(stack.restarts_file) == {"api": 0, "worker": 3}
    delays = [line.split("restarting it in ")[1].split(" s;")[0] for line in said if " s;" in line]
    assert delays == ["0.05", "0.1", "0.1"]
    assert sum("the worker stopped (exit code 3)" in line for line in said) == 3
    assert [line for line in said if "running again" in line] == [
        f"the worker is running again (restart {n})" for n in (1, 2, 3)
    ]
    # The API ran all along and was stopped with the rest.
    assert not any("the api" in line for line in said)
    assert api.poll() is not None
