"""The history in the terminal: requirements × nights, one coloured mark per cell (rich)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from harness.history import MARKS, Entry, kind, requirement_ids

_STYLE = {
    "passed": "bold green", "failed": "bold red", "error": "bold magenta", "incomplete": "yellow",
    "missing": "dim", "na": "blue", "partial": "yellow", "absent": "",
}  # fmt: skip


_WORDS = {
    "passed": "Implemented", "failed": "failed", "error": "error (could not tell)", "incomplete": "not proven",
    "missing": "no result", "na": "declared N/A", "partial": "declared partial",
}  # fmt: skip


def history_table(nights: list[Entry]) -> Table:
    """``nights`` oldest first; the last column is the newest night's duration of each requirement."""
    newest = nights[-1] if nights else None
    sim = " (SIMULATED GPUs)" if any(n.simulated for n in nights) else ""
    legend = "  ".join(f"{MARKS[k]} {word}" for k, word in _WORDS.items())
    table = Table(title=f"{newest.lab if newest else ''}: {len(nights)} nights{sim}", title_justify="left",
                  caption=legend, caption_justify="left")  # fmt: skip
    table.add_column("requirement", no_wrap=True)
    for n in nights:
        date, time = (n.time[5:10], n.time[11:16]) if len(n.time) >= 16 else (n.run_id[:8], "")
        table.add_column(f"{date}\n{time}", justify="center", no_wrap=True)
    table.add_column("last s", justify="right", no_wrap=True)
    for rid in requirement_ids(nights):
        cells = []
        for n in nights:
            k = kind(n.requirements.get(rid))
            cells.append(Text(MARKS[k], style=_STYLE[k]))
        p = newest.requirements.get(rid) if newest else None
        last = f"{p.duration_s:.1f}" if p and p.duration_s is not None else ""
        table.add_row(rid, *cells, last)
    table.add_section()
    table.add_row("Implemented", *(f"{n.counts.get('Implemented', 0)}/{len(n.requirements)}" for n in nights), "")
    table.add_row("exit code", *(str(n.exit_code) for n in nights), "")
    table.add_row("state", *("" if n.state == "complete" else n.state for n in nights), "")
    return table
