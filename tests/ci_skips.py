"""Under CI=true an unexpected skip fails the test.

A skip on a developer's machine says "this tool is missing here"; in CI, where
scripts/test-prereqs.sh installed everything, the same skip would hide a test
that never ran. The rule, exactly:

- it applies only when the environment variable CI is "true" (any case), as
  GitHub Actions, GitLab CI and most others set it;
- every skip then fails, whether raised in setup (a fixture), in the test body,
  by a skipif mark, or while collecting a module;
- except a skip of a test marked ``@pytest.mark.allow_skip("text")`` whose
  skip reason contains that text: the mark names the one expected reason, so
  the same test skipping for any other reason still fails;
- an expected failure (xfail) is not a skip and is left alone.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

HOW = 'mark the test @pytest.mark.allow_skip("<part of the reason>") if this skip is expected'


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    # A skip's longrepr is (file, line, "Skipped: reason").
    if isinstance(longrepr, tuple):
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def expected(item: pytest.Item, reason: str) -> bool:
    for mark in item.iter_markers("allow_skip"):
        if not mark.args or not isinstance(mark.args[0], str) or not mark.args[0]:
            raise pytest.UsageError(f"{item.nodeid}: allow_skip needs the expected reason's text")
        if mark.args[0] in reason:
            return True
    return False


def as_failure(report: pytest.TestReport | pytest.CollectReport, reason: str) -> None:
    report.outcome = "failed"
    report.longrepr = f"skipped under CI=true: {reason}\n({HOW})"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and in_ci() and not hasattr(report, "wasxfail"):
        reason = skip_reason(report)
        if not expected(item, reason):
            as_failure(report, reason)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    # A module skipped as a whole has no test to carry an allow_skip mark.
    if report.skipped and in_ci():
        as_failure(report, skip_reason(report))
    return report
