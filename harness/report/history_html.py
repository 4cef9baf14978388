"""The history page: a self-contained HTML file (inline CSS and SVG, no script, no external asset).

A status grid (requirements × nights), the versions each night ran, and a duration chart per
requirement. Every grid cell and chart bar carries ``data-*`` attributes (requirement, run id,
status, outcome, duration), so a test can read back from the rendered page what it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from harness.history import MARKS, MEANINGS, Entry, kind, requirement_ids

_CSS = """
:root { --passed:#1a7f37; --failed:#cf222e; --error:#8250df; --incomplete:#bf8700; --missing:#6e7781;
        --na:#0969da; --partial:#9a6700; --absent:#f6f8fa; --line:#d0d7de; --text:#1f2328; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--text); margin: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #59636e; margin: 0; }
.sim { background: #fff8c5; border: 1px solid #d4a72c; padding: 6px 10px; display: inline-block; margin: 8px 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: center; white-space: nowrap; }
tbody th, tfoot th, .versions th { text-align: left; font-weight: 600; }
/* the requirement names stay in view while many nights scroll past */
tr > th:first-child { position: sticky; left: 0; background: #fff; z-index: 1; }
th.night { font-weight: 500; font-size: 12px; }
th.night.partial { background: #ffebe9; }
td.cell { color: #fff; font-weight: 700; min-width: 22px; }
.k-passed { background: var(--passed); fill: var(--passed); } .k-failed { background: var(--failed); fill: var(--failed); }
.k-error { background: var(--error); fill: var(--error); } .k-incomplete { background: var(--incomplete); fill: var(--incomplete); }
.k-missing { background: var(--missing); fill: var(--missing); } .k-na { background: var(--na); fill: var(--na); }
.k-partial { background: var(--partial); fill: var(--partial); } .k-absent { background: var(--absent); fill: var(--absent); }
td.changed { background: #fff8c5; font-weight: 600; }
.legend span.swatch { display: inline-block; width: 14px; height: 14px; vertical-align: -2px; margin: 0 4px 0 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure.chart { margin: 0; border: 1px solid var(--line); padding: 6px 8px; }
figure.chart figcaption { font-size: 12px; font-weight: 600; }
figure.chart figcaption span { font-weight: 400; color: #59636e; }
svg text { font-size: 9px; fill: #59636e; }
svg line { stroke: var(--line); }
"""

_SLOT, _BAR, _LEFT, _TOP, _PLOT_H = 14, 10, 34, 8, 48


def _night_label(e: Entry) -> tuple[str, str]:
    """("11-23", "15:10") from an ISO time; the run id when the time is not one."""
    t = e.time
    if len(t) >= 16 and t[4] == "-" and t[10] == "T":
        return t[5:10], t[11:16]
    return e.run_id[:8], ""


def _night_title(e: Entry) -> str:
    parts = [f"run {e.run_id}", f"state {e.state}", f"exit {e.exit_code}"]
    if e.kubernetes_version:
        parts.append(f"Kubernetes {e.kubernetes_version}")
    if e.harness_version:
        parts.append(f"harness {e.harness_version}")
    return ", ".join(parts)


def _grid(nights: list[Entry], ids: list[str]) -> str:
    head = "".join(
        f'<th class="night{" partial" if n.state != "complete" else ""}" data-run-id="{escape(n.run_id)}" '
        f'title="{escape(_night_title(n))}">{escape(d)}<br>{escape(t)}</th>'
        for n in nights
        for d, t in [_night_label(n)]
    )
    rows = []
    for rid in ids:
        cells = []
        for n in nights:
            p = n.requirements.get(rid)
            k = kind(p)
            tip = f"{rid} on {n.time}: " + (f"{p.status} ({p.outcome})" if p else MEANINGS["absent"])
            if p and p.duration_s is not None:
                tip += f", {p.duration_s:.1f} s"
            cells.append(
                f'<td class="cell k-{k}" data-requirement="{escape(rid)}" data-run-id="{escape(n.run_id)}" '
                f'data-status="{escape(p.status if p else "")}" data-outcome="{escape(p.outcome if p else "")}" '
                f'title="{escape(tip)}">{escape(MARKS[k])}</td>'
            )
        rows.append(f'<tr data-requirement="{escape(rid)}"><th>{escape(rid)}</th>{"".join(cells)}</tr>')
    implemented = "".join(
        f'<td data-run-id="{escape(n.run_id)}">{n.counts.get("Implemented", 0)}/{len(n.requirements)}</td>'
        for n in nights
    )
    exits = "".join(f'<td data-run-id="{escape(n.run_id)}">{n.exit_code}</td>' for n in nights)
    return (
        f'<div class="scroll"><table class="grid" id="status-grid"><thead><tr><th>requirement</th>{head}</tr></thead>'
        f'<tbody>{"".join(rows)}</tbody>'
        f"<tfoot><tr><th>Implemented</th>{implemented}</tr><tr><th>exit code</th>{exits}</tr></tfoot></table></div>"
    )


def _legend() -> str:
    return '<p class="legend">' + "".join(
        f'<span class="swatch k-{k}"></span>{escape(MARKS[k] or "blank")} {escape(m)}' for k, m in MEANINGS.items()
    ) + "</p>"  # fmt: skip


def _versions(nights: list[Entry]) -> str:
    # (label, value of a night): the harness, what the cluster reported, then each recorded component
    rows_of: list[tuple[str, Callable[[Entry], str]]] = [
        ("harness", lambda n: n.harness_version),
        ("cluster (API server)", lambda n: n.kubernetes_version),
    ]
    for c in sorted({c for n in nights for c in n.components}):
        rows_of.append((c, _component(c)))
    rows = []
    for name, value in rows_of:
        cells, before = [], None
        for n in nights:
            v = value(n)
            changed = before is not None and v != before
            attr = ' class="changed"' if changed else ""
            cells.append(f"<td{attr}>{escape(v) or '–'}</td>")
            before = v
        rows.append(f"<tr><th>{escape(name)}</th>{''.join(cells)}</tr>")
    head = "".join(f'<th class="night">{escape(d)}<br>{escape(t)}</th>' for n in nights for d, t in [_night_label(n)])
    return f'<div class="scroll"><table class="versions"><thead><tr><th>component</th>{head}</tr></thead>' \
           f'<tbody>{"".join(rows)}</tbody></table></div>'  # fmt: skip


def _component(name: str) -> Callable[[Entry], str]:
    return lambda n: n.components.get(name, "")


def _chart(rid: str, nights: list[Entry]) -> str:
    durations = [(n, n.requirements.get(rid)) for n in nights]
    known = [p.duration_s for _, p in durations if p is not None and p.duration_s is not None]
    top = max(known, default=0.0) or 1.0
    width = _LEFT + _SLOT * len(nights) + 4
    height = _TOP + _PLOT_H + 4
    base = _TOP + _PLOT_H
    parts = [
        f'<line x1="{_LEFT - 2}" y1="{base}" x2="{width}" y2="{base}"/>',
    ]
    if known:
        parts += [f'<text x="{_LEFT - 4}" y="{_TOP + 7}" text-anchor="end">{_seconds(top)}</text>',
                  f'<text x="{_LEFT - 4}" y="{base}" text-anchor="end">0</text>']  # fmt: skip
    for i, (n, p) in enumerate(durations):
        if p is None or p.duration_s is None:
            continue
        h = max(1.0, _PLOT_H * p.duration_s / top)
        x = _LEFT + i * _SLOT + (_SLOT - _BAR) / 2
        parts.append(
            f'<rect class="bar k-{kind(p)}" x="{x:.1f}" y="{base - h:.1f}" width="{_BAR}" height="{h:.1f}" '
            f'data-run-id="{escape(n.run_id)}" data-duration="{p.duration_s:g}">'
            f"<title>{escape(n.time)}: {p.duration_s:.1f} s ({escape(p.outcome)})</title></rect>"
        )
    latest = next((p.duration_s for _, p in reversed(durations) if p and p.duration_s is not None), None)
    caption = f"last {_seconds(latest)}, max {_seconds(top)}" if known else "no durations recorded"
    return (
        f'<figure class="chart" data-requirement="{escape(rid)}"><figcaption>{escape(rid)} '
        f"<span>{caption}</span></figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="duration of {escape(rid)} per night">'
        f'{"".join(parts)}</svg></figure>'
    )


def _seconds(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"


def render_history_html(nights: list[Entry], title: str = "") -> str:
    """The page for ``nights`` (oldest first, as :func:`harness.history.select` returns them)."""
    lab = nights[-1].lab if nights else ""
    title = title or f"harness nightly: {lab}"
    ids = requirement_ids(nights)
    if nights:
        meta = (f"{len(nights)} night{'s' if len(nights) != 1 else ''}, {escape(nights[0].time)} … "
                f"{escape(nights[-1].time)}; newest run {escape(nights[-1].run_id)} (exit {nights[-1].exit_code})")  # fmt: skip
    else:
        meta = "no runs recorded"
    sim = (
        '<p class="sim">Simulated GPUs: these nights prove the harness, not a platform.</p>'
        if any(n.simulated for n in nights)
        else ""
    )
    charts = "".join(_chart(rid, nights) for rid in ids)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta" id="meta">{meta}</p>{sim}'
        f'<h2>Status</h2>{_grid(nights, ids)}{_legend()}'
        f"<h2>Versions</h2>{_versions(nights)}"
        f'<h2>Duration per requirement</h2><div class="charts" id="durations">{charts}</div>'
        "</body></html>\n"
    )
