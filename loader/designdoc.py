"""Build a design document from a folder, couchapp style.

    designdocs/network/views/inputs/map.py  ->  ddoc["views"]["inputs"]["map"]
    designdocs/network/lib/neuron.py        ->  ddoc["lib"]["neuron"]
    designdocs/network/options.json         ->  ddoc["options"] (a JSON value)

The folder name is the id (`_design/network`) and `language` is "python".
Every Python file is checked locally before anything is sent: libraries
(`lib/...`, `views/lib/...`) must parse; any other Python file must compile
into a design function, libraries it requires included, exactly as the query
server compiles it (viewserver.design.check_design_doc).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from viewserver.design import check_design_doc

LANGUAGE = "python"
# Noise that editors and Python itself leave in a folder.
IGNORED_DIRS = {"__pycache__"}


class DesignDocError(Exception):
    """A folder that cannot become a design document, or a broken function."""


@dataclass
class DesignDoc:
    folder: Path
    doc: dict
    # key path in the document -> the Python file it came from
    sources: dict[tuple[str, ...], Path] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.doc["_id"]


def build(folder: Path) -> DesignDoc:
    """Read `folder` into a design document; nothing is compiled yet."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DesignDocError(f"{folder}: not a folder")
    design = DesignDoc(folder, {"_id": f"_design/{folder.name}", "language": LANGUAGE})
    origins: dict[tuple[str, ...], Path] = {}
    for path in sorted(entries(folder)):
        key = key_path(folder, path)
        place(design.doc, key, read_value(path), path, origins)
        if path.suffix == ".py":
            design.sources[key] = path
    return design


def entries(folder: Path):
    """Every file below `folder`, refusing what a design doc cannot hold."""
    for path in folder.iterdir():
        if path.name.startswith(".") or path.name in IGNORED_DIRS:
            continue
        if path.name == "_attachments":
            raise DesignDocError(f"{path}: attachments are not supported")
        if path.is_dir():
            yield from entries(path)
        elif path.suffix in (".py", ".json"):
            yield path
        else:
            raise DesignDocError(
                f"{path}: unsupported file type; use .py for functions "
                "and .json for values"
            )


def key_path(folder: Path, path: Path) -> tuple[str, ...]:
    parts = path.relative_to(folder).with_suffix("").parts
    if parts[0].startswith("_") or parts[0] == "language":
        raise DesignDocError(f"{path}: {parts[0]!r} is set by push, not by a file")
    return parts


def read_value(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DesignDocError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if path.suffix == ".py":
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DesignDocError(f"{path}: invalid JSON at line {exc.lineno}") from None


def place(doc: dict, key: tuple[str, ...], value, path: Path, origins: dict) -> None:
    """Set doc[k1][k2]... = value, refusing two files for one key."""
    node = doc
    for depth, part in enumerate(key[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            other = origins[key[: depth + 1]]
            raise DesignDocError(
                f"{other} and {path} both map to {dotted(key[: depth + 1])}"
            )
        node = child
    if key[-1] in node:
        other = origins.get(key) or first_origin(origins, key)
        raise DesignDocError(f"{other} and {path} both map to {dotted(key)}")
    node[key[-1]] = value
    origins[key] = path


def first_origin(origins: dict, key: tuple[str, ...]) -> Path:
    """A file that created the folder-shaped value now sitting at `key`."""
    return next(path for k, path in sorted(origins.items()) if k[: len(key)] == key)


def dotted(key: tuple[str, ...]) -> str:
    return ".".join(key)


def is_library(key: tuple[str, ...]) -> bool:
    return key[0] == "lib" or key[:2] == ("views", "lib")


def check(design: DesignDoc) -> None:
    """Compile every Python file as the query server would; raise
    DesignDocError naming each broken file and line."""
    problems = []
    for key, path in design.sources.items():
        if is_library(key):
            problems += syntax_problems(lookup(design.doc, key), str(path))
    for where, reason in check_design_doc(design.doc).items():
        path = design.sources.get(tuple(where.split("/")), where)
        reason = reason.removeprefix(f"{design.id}/{where}: ")
        problems.append(f"{path}: {reason}")
    if problems:
        raise DesignDocError("\n".join(sorted(problems)))


def lookup(doc: dict, key: tuple[str, ...]):
    node = doc
    for part in key:
        node = node[part]
    return node


def syntax_problems(source: str, name: str) -> list[str]:
    """A library runs only when required; its syntax is checked on its own."""
    try:
        compile(source, name, "exec")
    except SyntaxError as exc:
        return [f"{name}: {exc.msg} at line {exc.lineno}"]
    return []
