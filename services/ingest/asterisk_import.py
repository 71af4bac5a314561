"""Import an Asterisk queue_log into opstrack: read it once, or follow it as it grows.

The parsing is pure (`services.core.asterisk`); this module does the I/O: it
reads the file, posts the events through the ingest API in batches, and, when
following, tails the file across log rotation and keeps its place in a state
file so that a restarted follower goes on where the last one stopped.

Exactness rests on two things. Event ids are derived from the call, the queue
and the event type, so sending a line's events again only gives duplicates,
which the API acknowledges without counting. And the follower saves its place
(byte offset, the file's inode and first bytes, the open queue stays) only
after the events of every line before that place were accepted, so a crash
at any moment resends at most the last batch and loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from services.client import ClientError, post_batches
from services.config import ConfigError
from services.core.asterisk import QueueLogParser, parse_queues

STATE_VERSION = 1
HEAD_BYTES = 256  # the first bytes of a file tell it apart from its successor
READ_BYTES = 1 << 20  # lines are parsed and sent this much at a time


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """What the progress callback is told after each step."""

    file: str
    done_bytes: int  # of the file being read
    total_bytes: int  # its size when last looked at (it grows while following)
    events: int  # sent so far in this run
    waiting: bool  # caught up with the file, waiting for new lines (follow)


@dataclass(frozen=True, slots=True)
class Skipped:
    file: str
    line: int
    reason: str


@dataclass(slots=True)
class ImportSummary:
    file: str
    lines: int = 0
    events: int = 0  # sent to the API
    accepted: int = 0
    duplicates: int = 0
    ignored: int = 0  # lines recognised and ignored on purpose (members, agents, …)
    by_type: dict[str, int] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    unmapped_queues: list[str] = field(default_factory=list)
    pending_stays: int = 0  # calls still in a queue (or whose end needs a line not seen yet)
    expired_stays: int = 0
    resumed_at: int | None = None  # byte offset a follower went on from
    rotations: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "lines": self.lines,
            "events": self.events,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "ignored": self.ignored,
            "by_type": dict(self.by_type),
            "skipped": [{"file": s.file, "line": s.line, "reason": s.reason} for s in self.skipped],
            "unmapped_queues": list(self.unmapped_queues),
            "pending_stays": self.pending_stays,
            "expired_stays": self.expired_stays,
            "resumed_at": self.resumed_at,
            "rotations": self.rotations,
            "notes": list(self.notes),
        }


def load_queues(path: Path) -> dict[str, str]:
    """The queues file (`queues: {asterisk queue: municipality}`); ConfigError names the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return parse_queues(raw)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def state_path(state_dir: Path, path: Path) -> Path:
    """Where a follower of `path` keeps its place: `<state_dir>/<name>-<hash of the path>.json`."""
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]
    return state_dir / f"{path.name}-{digest}.json"


def import_file(
    path: Path,
    url: str,
    queues_file: Path,
    follow: bool = False,
    state_dir: Path = Path(".opstrack/asterisk"),
    progress: Callable[[ImportProgress], None] = lambda _: None,
    *,
    batch: int = 500,
    stop: threading.Event | None = None,
    poll_seconds: float = 0.5,
    token: str | None = None,
) -> ImportSummary:
    """Send the call events of a queue_log file to the opstrack API at `url`.

    Without `follow` the file is read once from the start. With it, the file
    is read from where the last follower stopped (or from the start) and then
    followed as it grows, through rotation (a new file under the same name) and
    truncation, until `stop` is set; the place is saved in `state_dir`.
    A ClientError (the API unreachable or refusing) ends the import; a
    follower started again resends from its last saved place.
    """
    queues = load_queues(queues_file)
    run = _Run(path, url, queues, batch, progress, token)
    if follow:
        run.follow(state_path(state_dir, path), stop or threading.Event(), poll_seconds)
    else:
        run.once()
    return run.finish()


class _Run:
    def __init__(
        self,
        path: Path,
        url: str,
        queues: dict[str, str],
        batch: int,
        progress: Callable[[ImportProgress], None],
        token: str | None,
    ) -> None:
        self.path = path
        self.url = url
        self.queues = queues
        self.batch = batch
        self.progress = progress
        self.token = token
        self.parser = QueueLogParser(queues)
        self.summary = ImportSummary(file=str(path))
        self.label = path.name  # the file whose lines are being read, for skipped lines
        self.line_no = 0
        self._problems_seen = 0

    # -- one pass --------------------------------------------------------

    def once(self) -> None:
        if not self.path.is_file():
            raise ClientError(f"no such file: {self.path}")
        with self.path.open("rb") as fh:
            total = os.fstat(fh.fileno()).st_size
            rest = b""
            while chunk := fh.read(READ_BYTES):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                self.send(self.parse(lines))
                self.report(fh.tell(), total)
            if rest:  # a last line without its newline
                self.send(self.parse([rest]))
            # Ends whose ENTERQUEUE is not in the file (the log began mid-call).
            flushed = self.parser.flush()
            self._note_problems()
            self.send(flushed)
            self.report(fh.tell(), total)

    # -- following ---------------------------------------------------------

    def follow(self, state_file: Path, stop: threading.Event, poll: float) -> None:
        state = _load_state(state_file)
        if state is None and not self.path.is_file():
            raise ClientError(f"no such file: {self.path}")
        tail = _Tail(self, state_file)
        try:
            if state is None:
                tail.start()
            else:
                self.parser = self._restored(state, state_file)
                self.line_no = int(state["line"])
                tail.resume(state)
            while not stop.is_set():
                if tail.step():
                    continue  # there may be more right away
                if stop.wait(poll):
                    break
        finally:
            tail.close()

    def _restored(self, state: dict[str, Any], state_file: Path) -> QueueLogParser:
        try:
            return QueueLogParser.restore(self.queues, state["parser"])
        except (KeyError, ValueError) as exc:
            raise ClientError(
                f"{state_file} is not a follower state ({exc}); delete it to read the file from the start"
            ) from None

    # -- shared ------------------------------------------------------------

    def parse(self, lines: list[bytes]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for raw in lines:
            self.line_no += 1
            # Bytes that are not UTF-8 can only be in data the parser never reads
            # (a caller's name); replacing them keeps the line's other fields.
            events.extend(self.parser.feed(self.line_no, raw.decode("utf-8", "replace")))
        self._note_problems()
        return events

    def _note_problems(self) -> None:
        new = self.parser.problems[self._problems_seen :]
        self._problems_seen = len(self.parser.problems)
        self.summary.skipped.extend(Skipped(self.label, n, r) for n, r in new)

    def send(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        sent = post_batches(self.url, list(events), self.batch, token=self.token)
        self.summary.events += len(events)
        self.summary.accepted += sent.accepted
        self.summary.duplicates += sent.duplicates

    def report(self, done: int, total: int, waiting: bool = False) -> None:
        self.progress(ImportProgress(self.label, done, total, self.summary.events, waiting))

    def finish(self) -> ImportSummary:
        s = self.summary
        p = self.parser.summary()
        s.lines = p["lines"]
        s.ignored = p["ignored"]
        s.by_type = p["events"]
        s.unmapped_queues = p["unmapped_queues"]
        s.pending_stays = p["pending_stays"]
        s.expired_stays = p["expired_stays"]
        return s


class _Tail:
    """The file being followed: an open handle, the offset of the next unread line."""

    def __init__(self, run: _Run, state_file: Path) -> None:
        self.run = run
        self.state_file = state_file
        self.fh: IO[bytes] | None = None
        self.offset = 0  # just past the last complete line sent
        self.head = b""  # the file's first bytes (up to HEAD_BYTES) as far as read

    # -- opening -----------------------------------------------------------

    def start(self) -> None:
        self._open(self.run.path, 0)
        self._save()

    def resume(self, state: dict[str, Any]) -> None:
        """Go on from a saved place, even if the file was rotated or truncated meanwhile."""
        offset, inode = int(state["offset"]), int(state["inode"])
        head = bytes.fromhex(str(state["head"]))
        run = self.run
        if self._same_file(run.path, inode, head, offset):
            self._open(run.path, offset, head)
            run.summary.resumed_at = offset
            return
        rotated = self._rotated(inode, head, offset)
        if rotated is not None:
            # Finish the old file (queue_log.1, …) from the saved place; step() goes
            # over to the new one as it would have, had it been running.
            run.summary.resumed_at = offset
            run.summary.notes.append(
                f"{run.path.name} was rotated; read the rest of {rotated.name}"
            )
            run.label = rotated.name
            self._open(rotated, offset, head)
            return
        run.summary.notes.append(
            f"{run.path.name} was replaced or truncated and its old lines were not found;"
            f" lines written after byte {offset} of the old file may be missing"
        )
        if run.path.is_file():
            self._switch()

    def _same_file(self, path: Path, inode: int, head: bytes, offset: int) -> bool:
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        return st.st_ino == inode and st.st_size >= offset and _head(path, len(head)) == head

    def _rotated(self, inode: int, head: bytes, offset: int) -> Path | None:
        name = self.run.path.name
        parent = self.run.path.parent
        for candidate in sorted(parent.glob(f"{name}?*")):
            if candidate.suffix in {".gz", ".bz2", ".xz", ".zst"} or not candidate.is_file():
                continue
            if self._same_file(candidate, inode, head, offset):
                return candidate
        return None

    def _open(self, path: Path, offset: int, head: bytes = b"") -> None:
        self.close()
        self.fh = path.open("rb")
        self.fh.seek(offset)
        self.offset = offset
        self.head = head if offset else b""
        if offset == 0:
            self.run.line_no = 0

    def _switch(self) -> None:
        """Go over to the file now under the followed name, from its start."""
        self.run.label = self.run.path.name
        self._open(self.run.path, 0)
        self.run.summary.rotations += 1
        self._save()

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None

    # -- reading -----------------------------------------------------------

    def step(self) -> bool:
        """Read, send and save what is new, or notice a rotation; True if there was anything."""
        if self.fh is None:
            if not self.run.path.is_file():
                return False  # rotated away and not created again yet
            self._switch()
        if self._read_lines() or self._rotated_or_truncated():
            return True
        self.run.report(self.offset, self._size(), waiting=True)
        return False

    def _read_lines(self) -> bool:
        """Consume the complete lines of the open file; True if there were any."""
        fh = self._handle()
        chunk = fh.read(READ_BYTES)
        end = chunk.rfind(b"\n")
        if end >= 0:
            self._consume(chunk[: end + 1].split(b"\n")[:-1], end + 1)
        # What follows the last newline is a line still being written: read it again later.
        fh.seek(self.offset)
        return end >= 0

    def _consume(self, lines: list[bytes], length: int) -> None:
        run = self.run
        if len(self.head) < HEAD_BYTES:
            self.head = (self.head + b"\n".join(lines) + b"\n")[:HEAD_BYTES]
        run.send(run.parse(lines))
        self.offset += length
        self._save()
        run.report(self.offset, self._size())

    def drain(self) -> None:
        """Read the rest of a file that is no longer written, its last line even without newline."""
        while self._read_lines():
            pass
        rest = self._handle().read()
        if rest:
            self._consume([rest], len(rest))

    def _rotated_or_truncated(self) -> bool:
        """Switch files when the followed name now holds another file (or the same, cut short)."""
        fh = self._handle()
        path = self.run.path
        # Look at the name through one open handle: a stat() of the name and a
        # later read of it could see two different files (a rename between them),
        # and the new file's first bytes would then pass for a truncation.
        try:
            current = path.open("rb")
        except FileNotFoundError:
            return False  # renamed away; wait for its successor (and keep reading the old one)
        with current:
            st = os.fstat(current.fileno())
            now_head = current.read(len(self.head))
        if st.st_ino != os.fstat(fh.fileno()).st_ino:
            # logrotate renames the file and Asterisk reopens the name when told to;
            # until then it may still write to the old file. Once the new one has
            # lines, the old one is complete: drain it, then go over.
            if st.st_size == 0:
                return False
            self.drain()
            self._switch()
            return True
        if st.st_size < self.offset or now_head != self.head:
            # copytruncate: the same file, emptied and written again from the start.
            self.run.summary.notes.append(f"{path.name} was truncated; reading it from the start")
            fh.seek(0)
            self.offset, self.head, self.run.line_no = 0, b"", 0
            self.run.summary.rotations += 1
            self._save()
            return True
        return False

    def _handle(self) -> IO[bytes]:
        if self.fh is None:
            raise RuntimeError("no file is open")
        return self.fh

    def _size(self) -> int:
        return os.fstat(self._handle().fileno()).st_size

    def _save(self) -> None:
        state = {
            "version": STATE_VERSION,
            "path": str(self.run.path.resolve()),
            "inode": os.fstat(self._handle().fileno()).st_ino,
            "offset": self.offset,
            "head": self.head[: min(HEAD_BYTES, self.offset)].hex(),
            "line": self.run.line_no,
            "parser": self.run.parser.snapshot(),
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_file)  # atomic: a crash leaves the old state or the new


def _head(path: Path, n: int) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _load_state(state_file: Path) -> dict[str, Any] | None:
    try:
        text = state_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    with contextlib.suppress(ValueError):
        state = json.loads(text)
        if isinstance(state, dict) and state.get("version") == STATE_VERSION:
            for key in ("offset", "inode", "head", "line", "parser"):
                if key not in state:
                    break
            else:
                return state
    raise ClientError(
        f"{state_file} is not a follower state; delete it to read the file from the start"
    )
