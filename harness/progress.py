"""Progress of a run for people (rich live view), CI (quiet) and machines (JSON lines)."""

from __future__ import annotations

import json
import sys
import time
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from harness.runner import ProgressEvent

_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "skip": "yellow"}


class Progress:
    """Context manager taking ProgressEvents; ``mode`` is ``live``, ``quiet`` or ``json``."""

    def __init__(self, mode: str = "live", total: int = 0, title: str = "", stream: TextIO | None = None) -> None:
        self.mode = mode
        self.total = total
        self.title = title
        self.stream = stream or sys.stdout
        self.console = Console(file=self.stream, highlight=False)
        self.live: Live | None = None
        self.start = time.monotonic()
        self.play = self.task = self.requirement = ""
        self.seen: list[str] = []

    def __enter__(self) -> Progress:
        if self.mode == "live" and self.console.is_terminal:
            self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
            self.live.__enter__()
        elif self.mode == "live" and self.title:
            self.console.print(self.title)
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.live is not None:
            self.live.__exit__(et, ev, tb)
            self.live = None

    def json(self, obj: dict[str, Any]) -> None:
        self.stream.write(json.dumps(obj, sort_keys=True) + "\n")
        self.stream.flush()

    def __call__(self, ev: ProgressEvent) -> None:
        if self.mode == "quiet":
            return
        if self.mode == "json":
            self.json({"type": "progress", **ev.to_dict()})
            return
        if ev.kind == "play":
            self.play = ev.play
        elif ev.kind == "task":
            self.task = ev.task
        elif ev.kind == "requirement":
            self.requirement = ev.requirement
            if ev.requirement not in self.seen:
                self.seen.append(ev.requirement)
        elif ev.kind == "result":
            self.console.print(self._result_line(ev))
        elif ev.kind == "failed" and self.live is None:
            self.console.print(f"  [red]task failed[/red] {ev.task}: {ev.detail}", markup=True)
        if self.live is not None:
            self.live.update(self._render())

    def _result_line(self, ev: ProgressEvent) -> Text:
        t = Text(f"{ev.elapsed_s:7.1f}s  {ev.requirement:<32} ")
        for part in ev.detail.split(", "):
            word = part.split(" ")[-1]
            t.append(part + "  ", style=_STYLE.get(word, ""))
        return t

    def _render(self) -> Text:
        elapsed = time.monotonic() - self.start
        n = f"{len(self.seen)}/{self.total}" if self.total else str(len(self.seen))
        t = Text()
        if self.title:
            t.append(self.title + "\n", style="bold")
        t.append(f"{elapsed:6.1f}s  ", style="cyan")
        t.append(f"requirement {n} {self.requirement or '-'}\n", style="bold")
        t.append(f"        play: {self.play or '-'}\n        task: {self.task or '-'}", style="dim")
        return t
