"""A PRODUCT.yaml decoded the way the CNCF validator's YAML library (Go, yaml.v3) decodes it.

Upstream reads the file into typed fields: ``metadata`` a mapping of any values, ``spec`` a
mapping of lists of requirements whose ``id``, ``description``, ``level``, ``status`` and
``notes`` are strings and whose ``evidence`` is a list of strings. What follows from that, and
what this module reproduces:

- a value of the wrong shape where a field is decoded (a list as ``notes``, one string as
  ``evidence``, a mapping as an evidence entry) fails the whole file; unknown keys are ignored;
- any scalar decodes into a string field as written (``status: 1.0`` is the text ``1.0``);
- in ``metadata`` a plain ``1.0``, ``42``, ``true`` or ``2024-01-31`` is a number, a boolean or
  a time, not a string (``yes`` and ``on`` stay text: yaml.v3 resolves YAML 1.2 forms there);
- a key twice in one decoded mapping fails the file; null is the empty value.

Upstream stops at the first problem; here each one is kept, with the field it concerns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"

# yaml.v3's fixed words; everything else that is not a number is text.
_WORDS = {
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), _NULL),
    **dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), _BOOL),
    **dict.fromkeys(
        (f"{s}.{w}" for s in ("", "+", "-") for w in ("inf", "Inf", "INF")), _FLOAT
    ),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), _FLOAT),
    "<<": _MERGE,
}
_FLOAT_FORM = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INT_FORM = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)$")
# The three time layouts yaml.v3 tries (Go's time.Parse: one or two digits, any run of spaces).
_TIMESTAMP_FORMS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(
        r"^(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})([.,]\d+)?"
        r"(Z|[+-]\d{2}:\d{2})$"
    ),
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2}) +(\d{1,2}):(\d{1,2}):(\d{1,2})([.,]\d+)?$"),
)
MAX_DEPTH = 64  # deeper than any PRODUCT.yaml; stops an alias that contains itself


def plain_scalar_tag(text: str) -> str:
    """The tag yaml.v3 gives an unquoted scalar decoded into an untyped value."""
    if text in _WORDS:
        return _WORDS[text]
    head = text[0]
    if head == ".":
        return _FLOAT if _FLOAT_FORM.match(text) else _STR
    if head.isdigit() and _is_timestamp(text):
        return _TIMESTAMP
    if head in "+-0123456789":
        digits = text.replace("_", "")  # yaml.v3 drops digit separators before parsing
        if _INT_FORM.match(digits):
            return _INT
        if _FLOAT_FORM.match(digits):
            return _FLOAT
    return _STR


def _is_timestamp(text: str) -> bool:
    for form in _TIMESTAMP_FORMS:
        m = form.match(text)
        if m is None:
            continue
        year, month, day = (int(x) for x in m.group(1, 2, 3))
        try:
            date(year or 2000, month, day)  # Go has a year 0, a leap year like 2000
        except ValueError:
            return False  # Go refuses an impossible date, and the text stays a string
        if m.lastindex and m.lastindex >= 6:
            hour, minute, second = (int(x) for x in m.group(4, 5, 6))
            return hour < 24 and minute < 60 and second < 60
        return True
    return False


class YamlScalar(str):
    """A number, boolean or time kept as written (``1.10`` stays ``1.10``), with its YAML type."""

    tag: str = ""


class _Loader(yaml.SafeLoader):
    """Composes nodes only; plain scalars get yaml.v3's tags."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return plain_scalar_tag(value)
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


@dataclass
class Entry:
    """One spec entry, as upstream's requirement fields hold it (absent and null are "")."""

    position: int  # 1-based, within its category
    id: str = ""
    description: str = ""
    level: str = ""
    status: str = ""
    evidence: list[str] = field(default_factory=list)
    notes: str = ""
    blank: bool = False  # a null entry ("- " with nothing after it)


@dataclass
class ProductDoc:
    metadata: dict[str, Any] | None = None  # None: absent, null or unreadable
    spec: dict[str, list[Entry]] | None = None
    #: (subject, what is wrong): each one fails the file upstream
    problems: list[tuple[str, str]] = field(default_factory=list)
    #: subjects a problem was reported for (so "missing" is not said about them as well)
    broken: set[str] = field(default_factory=set)

    def problem(self, subject: str, message: str) -> None:
        self.problems.append((subject, message))
        self.broken.add(subject)


def decode_product(text: str) -> ProductDoc:
    """Decode the first YAML document of ``text``. Raises yaml.YAMLError on malformed YAML."""
    loader = _Loader(text)
    try:
        node = loader.get_node() if loader.check_node() else None  # upstream reads one document
    finally:
        loader.dispose()
    doc = ProductDoc()
    if node is None or _is_null(node):
        return doc
    if not isinstance(node, yaml.MappingNode):
        doc.problem("file", f"the top level is {_shape(node)}, not a mapping with metadata and spec")
        return doc
    for key, value in _pairs(doc, node, "file", "the top level", by_name=True):
        if key == "metadata":
            doc.metadata = _metadata(doc, value)
        elif key == "spec":
            doc.spec = _spec(doc, value)
    return doc


def _metadata(doc: ProductDoc, node: yaml.Node) -> dict[str, Any] | None:
    if _is_null(node):
        return None
    if not isinstance(node, yaml.MappingNode):
        doc.problem("metadata", f"'metadata' is {_shape(node)}, not a mapping")
        return None
    return {
        k: _any(doc, v, f"metadata.{k}", k, 1) for k, v in _pairs(doc, node, "metadata", "metadata")
    }


def _spec(doc: ProductDoc, node: yaml.Node) -> dict[str, list[Entry]] | None:
    if _is_null(node):
        return None
    if not isinstance(node, yaml.MappingNode):
        doc.problem("spec", f"'spec' is {_shape(node)}, not a mapping of categories")
        return None
    spec: dict[str, list[Entry]] = {}
    for cat, items in _pairs(doc, node, "spec", "spec"):
        spec[cat] = []
        if _is_null(items):
            continue
        if not isinstance(items, yaml.SequenceNode):
            doc.problem(cat, f"spec.{cat} is {_shape(items)}, not a list of requirements")
            continue
        for n, item in enumerate(items.value, 1):
            entry = _entry(doc, item, cat, n)
            if entry is not None:
                spec[cat].append(entry)
    return spec


def _entry(doc: ProductDoc, node: yaml.Node, cat: str, n: int) -> Entry | None:
    entry = Entry(position=n)
    if _is_null(node):
        entry.blank = True
        return entry
    if not isinstance(node, yaml.MappingNode):
        doc.problem(cat, f"spec.{cat} entry {n} is {_shape(node)}, not a requirement mapping")
        return None
    pairs = _pairs(doc, node, cat, f"spec.{cat} entry {n}", by_name=True)
    id_node = dict(pairs).get("id")
    if id_node is not None:
        entry.id = _text(doc, id_node, f"spec.{cat} entry {n}", "id", cat)
    subject = entry.id or cat
    where = f"{entry.id}" if entry.id else f"spec.{cat} entry {n}"
    for key, value in pairs:
        if key in ("description", "level", "status", "notes"):
            setattr(entry, key, _text(doc, value, where, key, subject))
        elif key == "evidence":
            entry.evidence = _evidence(doc, value, where, subject)
    return entry


def _text(doc: ProductDoc, node: yaml.Node, where: str, key: str, subject: str) -> str:
    if isinstance(node, yaml.ScalarNode):
        return "" if node.tag == _NULL else str(node.value)
    doc.problem(subject, f"{key} is {_shape(node)}; {where}.{key} must be text")
    return ""


def _evidence(doc: ProductDoc, node: yaml.Node, where: str, subject: str) -> list[str]:
    if _is_null(node):
        return []
    if isinstance(node, yaml.ScalarNode):
        doc.problem(
            subject, f"evidence is one string; {where}.evidence must be a list (write '- {node.value}')"
        )
        return []
    if not isinstance(node, yaml.SequenceNode):
        doc.problem(subject, f"evidence is {_shape(node)}; {where}.evidence must be a list of links")
        return []
    return [_text(doc, e, where, f"evidence[{i}]", subject) for i, e in enumerate(node.value)]


def _any(doc: ProductDoc, node: yaml.Node, where: str, subject: str, depth: int) -> Any:
    """An untyped value: null, text, a YamlScalar for numbers and booleans, a list or a dict."""
    if depth > MAX_DEPTH:
        doc.problem(subject, f"{where} nests deeper than {MAX_DEPTH} levels")
        return None
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _NULL:
            return None
        if node.tag in (_BOOL, _INT, _FLOAT, _TIMESTAMP):
            s = YamlScalar(node.value)
            s.tag = node.tag.rsplit(":", 1)[-1]
            return s
        return str(node.value)
    if isinstance(node, yaml.SequenceNode):
        return [_any(doc, v, f"{where}[{i}]", subject, depth + 1) for i, v in enumerate(node.value)]
    if not isinstance(node, yaml.MappingNode):
        return None  # the composer makes only these three kinds
    pairs = _pairs(doc, node, subject, where)
    return {k: _any(doc, v, f"{where}.{k}", subject, depth + 1) for k, v in pairs}


def _pairs(
    doc: ProductDoc, node: yaml.MappingNode, subject: str, where: str, by_name: bool = False
) -> list[tuple[str, yaml.Node]]:
    """Key text and value node of a decoded mapping; merged (``<<``) keys give way to its own.

    A key twice is a problem: by decoded name for the fixed-field mappings (``by_name``), by key
    node for the others, as yaml.v3 compares them."""
    own: list[tuple[str, yaml.Node]] = []
    merged: list[tuple[str, yaml.Node]] = []
    seen: dict[Any, int] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag == _MERGE:
            merged += _merge_sources(doc, value, subject, where)
            continue
        text = str(key.value) if isinstance(key, yaml.ScalarNode) else _shape(key)
        ident = text if by_name else (type(key).__name__, text)
        if ident in seen:
            doc.problem(
                subject,
                f"{where}: key '{text}' at line {key.start_mark.line + 1} "
                f"is already set at line {seen[ident]}",
            )
            continue
        seen[ident] = key.start_mark.line + 1
        own.append((text, value))
    names = {k for k, _ in own}
    return [(k, v) for k, v in merged if k not in names] + own


def _merge_sources(
    doc: ProductDoc, node: yaml.Node, subject: str, where: str
) -> list[tuple[str, yaml.Node]]:
    sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
    out: list[tuple[str, yaml.Node]] = []
    for src in sources:
        if not isinstance(src, yaml.MappingNode):
            doc.problem(subject, f"{where}: '<<' merges {_shape(src)}; only mappings merge")
            continue
        out += [(str(k.value), v) for k, v in src.value if isinstance(k, yaml.ScalarNode)]
    return out


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL


def _shape(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _STR:
        return f"the string '{_short(str(node.value))}'"
    return f"the {node.tag.rsplit(':', 1)[-1]} {_short(str(node.value))}"


def _short(s: str) -> str:
    s = " ".join(s.split())
    return s if len(s) <= 40 else s[:37] + "..."
