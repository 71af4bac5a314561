"""The commands `opstrack up` and `opstrack demo` print as hints, runnable as printed.

Right after `make run` the `opstrack` script sits in .venv/bin, which is not on the
user's PATH, and a stack on another port is not where the CLI looks by default; so a
hint names the script by a path that works from here, and says `--url` when needed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from services.commands.options import DEFAULT_URL


@dataclass(frozen=True)
class Cli:
    """`run(...)` gives a command line; `url_args(...)` the `--url` part, when needed."""

    program: str  # `opstrack`, or the script's path when it is not on PATH
    api_url: str
    activate: str | None = None  # `source …/activate`, which puts `opstrack` on PATH

    @property
    def on_path(self) -> bool:
        return self.program == "opstrack"

    def url_args(self) -> str:
        """` --url URL` unless the CLI would find the API there by itself."""
        default = os.environ.get("OPSTRACK_URL") or DEFAULT_URL
        if self.api_url.rstrip("/") == default.rstrip("/"):
            return ""
        return f" --url {shlex.quote(self.api_url)}"

    def run(self, *words: str, url: bool = True) -> str:
        """The command line for `opstrack WORDS…` (plus `--url` for commands that talk to the API)."""
        line = " ".join([self.program, *(shlex.quote(w) for w in words)])
        return line + (self.url_args() if url else "")


def cli_for(api_url: str, cwd: Path | None = None) -> Cli:
    """How the user's shell reaches this very `opstrack`."""
    script = Path(sys.executable).parent / "opstrack"
    found = shutil.which("opstrack")
    if found is not None and Path(found).resolve() == script.resolve():
        return Cli("opstrack", api_url)
    if not script.exists():  # run as `python -m services.cli` from a tree without the script
        return Cli(f"{shlex.quote(sys.executable)} -m services.cli", api_url)
    here = (cwd or Path.cwd()).resolve()
    try:
        shown = str(script.absolute().relative_to(here))
    except ValueError:
        shown = str(script.absolute())
    activate = script.parent / "activate"
    shown_activate = str(Path(shown).parent / "activate")
    return Cli(
        shlex.quote(shown),
        api_url,
        f"source {shlex.quote(shown_activate)}" if activate.exists() else None,
    )
