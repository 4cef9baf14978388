"""The run record (``run.json``): the single source every output is written from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.results import SCHEMA_VERSION, RequirementResult, Status

RUN_FILE = "run.json"


class RunFileError(ValueError):
    """A run.json that cannot be used; the message names the file and the field."""


@dataclass
class LabInfo:
    name: str = ""  # inventory name, e.g. "local-sim"
    inventory: str = ""  # path as given
    kind: str = ""  # "local-sim" | "existing" | "bare-metal"
    simulated: bool = False
    kubernetes_version: str = ""  # from the cluster, e.g. "v1.37.2"
    components: dict[str, str] = field(default_factory=dict)  # component -> version
    product: dict[str, Any] = field(default_factory=dict)  # PRODUCT.yaml metadata from the inventory


@dataclass
class Run:
    run_id: str
    checklists: list[str]
    lab: LabInfo = field(default_factory=LabInfo)
    requirements: dict[str, RequirementResult] = field(default_factory=dict)
    started: str = ""
    finished: str = ""
    duration_s: float | None = None
    #: "complete" when the verify play finished; "partial" when it was interrupted
    state: str = "complete"
    #: why a partial run stopped: {"reason": "canceled"|"timeout"|"failed"|"error", "message": str}
    interruption: dict[str, str] | None = None
    selection: dict[str, list[str]] = field(default_factory=lambda: {"only": [], "skip": []})
    harness_version: str = ""
    schema_version: str = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "run_id": self.run_id,
            "harness_version": self.harness_version,
            "started": self.started,
            "finished": self.finished,
            "duration_s": self.duration_s,
            "state": self.state,
            "interruption": self.interruption,
            "checklists": list(self.checklists),
            "selection": self.selection,
            "lab": {
                "name": self.lab.name,
                "inventory": self.lab.inventory,
                "kind": self.lab.kind,
                "simulated": self.lab.simulated,
                "kubernetes_version": self.lab.kubernetes_version,
                "components": dict(self.lab.components),
                "product": dict(self.lab.product),
            },
            "requirements": {k: v.to_dict() for k, v in self.requirements.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Run:
        lab = d.get("lab") or {}
        return cls(
            run_id=str(d["run_id"]),
            checklists=[str(c) for c in d.get("checklists") or []],
            lab=LabInfo(
                name=str(lab.get("name", "")),
                inventory=str(lab.get("inventory", "")),
                kind=str(lab.get("kind", "")),
                simulated=bool(lab.get("simulated", False)),
                kubernetes_version=str(lab.get("kubernetes_version", "")),
                components={str(k): str(v) for k, v in (lab.get("components") or {}).items()},
                product=dict(lab.get("product") or {}),
            ),
            requirements={
                k: RequirementResult.from_dict(v) for k, v in (d.get("requirements") or {}).items()
            },
            started=str(d.get("started", "")),
            finished=str(d.get("finished", "")),
            duration_s=d.get("duration_s"),
            state=str(d.get("state", "complete")),
            interruption=d.get("interruption"),
            selection=d.get("selection") or {"only": [], "skip": []},
            harness_version=str(d.get("harness_version", "")),
            schema_version=str(d.get("schema_version", SCHEMA_VERSION)),
        )

    def save(self, run_dir: Path) -> Path:
        path = run_dir / RUN_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n", "utf-8")
        tmp.replace(path)  # atomic: a reader never sees half a run.json
        return path

    @classmethod
    def load(cls, run_dir_or_file: Path | str) -> Run:
        given = Path(run_dir_or_file)
        path = given / RUN_FILE if given.is_dir() else given
        return cls.from_dict(json.loads(path.read_text("utf-8")))

    def status_of(self, req_id: str) -> Status | None:
        r = self.requirements.get(req_id)
        return r.status if r else None


def schema() -> dict[str, Any]:
    """The versioned JSON Schema of run.json, shipped with the package."""
    from importlib import resources

    text = resources.files("harness").joinpath("schema/run.schema.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def validate_run_dict(d: dict[str, Any], *, allow_unknown: bool = False) -> list[str]:
    """Schema problems of a run.json document, one line each (empty when valid).

    ``allow_unknown`` passes fields the schema does not know: a newer harness of the same major
    schema version only adds optional ones."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = [
        e
        for e in validator.iter_errors(d)
        if not (allow_unknown and e.validator == "additionalProperties")
    ]
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in sorted(errors, key=lambda e: list(map(str, e.absolute_path)))
    ]


def load_checked(run_dir_or_file: Path | str) -> Run:
    """:meth:`Run.load` for a run.json from anywhere: checked against the schema and the shipped
    checklists first. Raises RunFileError naming the file and the first bad field."""
    from harness import catalog

    given = Path(run_dir_or_file)
    path = given / RUN_FILE if given.is_dir() else given
    try:
        doc = json.loads(path.read_text("utf-8"))
    except UnicodeDecodeError as e:
        raise RunFileError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise RunFileError(f"{path}: not JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except OSError as e:
        raise RunFileError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not isinstance(doc, dict):
        raise RunFileError(f"{path}: (root): a JSON object is expected, not {type(doc).__name__}")
    problems = validate_run_dict(doc, allow_unknown=True)
    for i, v in enumerate(doc.get("checklists") or []):
        if isinstance(v, str) and v not in catalog.versions():
            problems.append(f"checklists/{i}: no checklist {v} is shipped ({', '.join(catalog.versions())})")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RunFileError(f"{path}: {problems[0]}{more}")
    try:
        return Run.from_dict(doc)
    except (KeyError, ValueError, TypeError) as e:  # the schema should have said; never a traceback
        raise RunFileError(f"{path}: not a usable run record ({type(e).__name__}: {e})") from None
