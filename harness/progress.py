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
_TASK_STYLE = {"ok": "green", "changed": "yellow", "skipped": "dim"}


class Progress:
    """Context manager taking ProgressEvents; ``mode`` is ``live``, ``quiet`` or ``json``.

    ``task_lines``: when the output is not a terminal (CI logs, ``| tee``), print one line per
    finished task, so that a long ``up`` shows it is moving; a terminal gets the live view instead.
    """

    def __init__(
        self, mode: str = "live", total: int = 0, title: str = "", stream: TextIO | None = None,
        task_lines: bool = False,
    ) -> None:  # fmt: skip
        self.mode = mode
        self.task_lines = task_lines
        self.total = total
        self.title = title
        self.stream = stream or sys.stdout
        self.console = Console(file=self.stream, highlight=False)
        self.live: Live | None = None
        self.start = time.monotonic()
        self.play = self.task = ""
        self.running: list[str] = []  # started and not reported yet (verify runs several at once)
        self.reported: set[str] = set()

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
            if self._lines():
                self.console.print(Text(f"{ev.elapsed_s:7.1f}s  play: {ev.play}", style="bold"), soft_wrap=True)
        elif ev.kind == "done":
            # failed tasks get the "task failed" line below, with their message
            if self._lines() and ev.status not in ("failed", "unreachable", "ignored"):
                self.console.print(self._task_line(ev), soft_wrap=True)
        elif ev.kind == "task":
            self.task = ev.task
        elif ev.kind == "requirement":
            if ev.requirement not in self.running:
                self.running.append(ev.requirement)
        elif ev.kind == "result":
            if ev.requirement in self.running:
                self.running.remove(ev.requirement)
            self.reported.add(ev.requirement)
            self.console.print(self._result_line(ev))
        elif ev.kind == "failed" and self.live is None:
            ignored = " (ignored)" if ev.status == "ignored" else ""
            self.console.print(f"  [red]task failed[/red]{ignored} {ev.task}: {ev.detail}", markup=True, soft_wrap=True)
        if self.live is not None:
            self.live.update(self._render())

    def _lines(self) -> bool:
        return self.task_lines and self.live is None

    def _task_line(self, ev: ProgressEvent) -> Text:
        t = Text(f"{ev.elapsed_s:7.1f}s  ")
        t.append(f"{ev.status:<8}", style=_TASK_STYLE.get(ev.status, ""))
        t.append(f" {ev.task}")
        if ev.host and ev.host != "localhost":
            t.append(f" [{ev.host}]", style="dim")
        if ev.duration_s is not None:
            t.append(f" ({ev.duration_s:.1f}s)", style="dim")
        return t

    def _result_line(self, ev: ProgressEvent) -> Text:
        t = Text(f"{ev.elapsed_s:7.1f}s  {ev.requirement:<32} ")
        for part in ev.detail.split(", "):
            word = part.split(" ")[-1]
            t.append(part + "  ", style=_STYLE.get(word, ""))
        return t

    def _render(self) -> Text:
        elapsed = time.monotonic() - self.start
        done = f"{len(self.reported)}/{self.total}" if self.total else str(len(self.reported))
        t = Text()
        if self.title:
            t.append(self.title + "\n", style="bold")
        t.append(f"{elapsed:6.1f}s  ", style="cyan")
        t.append(f"{done} reported; running: {', '.join(self.running) or '-'}\n", style="bold")
        t.append(f"        play: {self.play or '-'}\n        task: {self.task or '-'}", style="dim")
        return t
