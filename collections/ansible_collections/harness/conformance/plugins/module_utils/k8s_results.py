# Copyright: harness developers; Apache-2.0
"""Reading what a verify role's kubernetes tasks registered, for the judging filters of
harness.conformance: the objects a ``k8s_info`` read, one kind of a looped read, a deletion that did
not finish, and Jinja's ``truncate`` (the check texts were written with it and read the same now)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

#: what harness.conformance.evidence keeps of a list by default (module_utils/evidence_files.py MAX_OBJECTS)
EVIDENCE_OBJECTS = 100


def stored(value: Any) -> Any:
    """A registered result as Ansible stored it, not through the lazy view a filter is handed.

    That view templates every value on access; what a module returned is never a template, but the
    checks cost: a 500-node lab's Nodes judged through it took 1.7 s, straight 0.1 s. The view's
    non-lazy copy holds the stored values, and a stored container holds only stored values.
    """
    copy = getattr(value, "_non_lazy_copy", None)
    if not callable(copy):
        return value
    out = copy()
    if isinstance(out, dict):
        return {k: stored(v) for k, v in out.items()}
    return [stored(v) for v in out]


def resources(registered: Any) -> list[Obj]:
    """The objects a registered ``k8s_info`` result read ([] when the task was skipped or failed)."""
    registered = stored(registered)
    if not isinstance(registered, dict):
        return []
    return [o for o in registered.get("resources") or [] if isinstance(o, dict)]


def first(registered: Any) -> Obj:
    """The one object a ``k8s_info`` read by name returned ({} when there was none or the read failed)."""
    objs = resources(registered)
    return objs[0] if objs else {}


def read_resources(reads: Any, kind: str) -> list[Obj]:
    """The objects the item of kind ``kind`` of a registered ``k8s_info`` loop read ([] when it was
    skipped or the API is not served): a role reads every kind it needs in one task."""
    reads = stored(reads)
    results = reads.get("results") if isinstance(reads, dict) else reads
    for r in results or []:
        if isinstance(r, dict) and (r.get("item") or {}).get("kind") == kind:
            return list(r.get("resources") or [])
    return []


def jinja_truncate(text: Any, length: int) -> str:
    """Jinja's ``truncate(length)`` with its defaults: text up to ``length`` + 5 (its leeway) is kept
    whole, longer text is cut at a word before ``length`` - 3 characters and ends in "..."."""
    out = "" if text is None else str(text)
    if len(out) <= length + 5:
        return out
    return out[: length - 3].rsplit(" ", 1)[0] + "..."


def namespace_cleanup_checks(cleanup: Any, namespace: str) -> list[Obj]:
    """The error check of a namespace deletion that did not finish, [] when it did.

    A deletion task does not fail the role (``failed_when: false`` or ``ignore_errors``): one that
    failed or timed out is told by ``failed`` or by the module's ``msg``, which a deletion that
    finished does not carry.
    """
    r = cleanup if isinstance(cleanup, dict) else {}
    if r.get("skipped") or not (r.get("msg") or r.get("failed")):
        return []
    return [{"name": f"Cleanup: namespace {namespace} is deleted", "status": "error", "expected": "deleted",
             "observed": "still present or not deletable", "message": str(r.get("msg") or "")[:500]}]  # fmt: skip


def evidence_file(name: str, objs: list[Any], limit: int = EVIDENCE_OBJECTS) -> Obj:
    """A ``files`` entry of a judged step that carries only the objects the file keeps, and how many
    there were (``total``): the evidence writes the same file, and a 500-node lab's lists never pass
    through the templating of the evidence task's arguments (a second or two a role)."""
    if len(objs) <= limit:
        return {"name": name, "data": objs}
    return {"name": name, "data": objs[:limit], "total": len(objs)}
