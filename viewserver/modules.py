"""``require(path)``: Python libraries kept as strings inside design documents.

``require("lib/neuron")`` in a design function runs the string at
``ddoc["lib"]["neuron"]`` as a module and returns the module object; map
functions reach the libraries sent by ``add_lib`` as ``views/lib/name``.
Paths starting with ``./`` or ``../`` are relative to the requiring module.
Each module runs once per design document (or library set) and is cached.
"""

from collections.abc import Callable
from types import ModuleType

from .compiler import CompilationError, parse_source, run_source
from .errors import QueryError


def make_require(
    root: dict, cache: dict, namespace: dict, base: str = ""
) -> Callable[[str], ModuleType]:
    """A ``require`` resolving paths in ``root``, relative ones against ``base``."""

    def require(path: str) -> ModuleType:
        module_id = resolve(path, base)
        module = cache.get(module_id)
        if module is None:
            module = _load(root, cache, namespace, module_id, path)
        return module

    return require


def resolve(path: str, base: str) -> str:
    """The absolute module id for ``path`` required from module ``base``."""
    if not isinstance(path, str) or not path:
        raise QueryError("invalid_require_path", f"require({path!r}): not a path")
    parts = path.split("/")
    if parts[0] not in (".", ".."):
        return path
    resolved = base.split("/")[:-1] if base else []
    for part in parts:
        if part == "..":
            if not resolved:
                raise QueryError(
                    "invalid_require_path", f"require({path!r}): no parent"
                )
            resolved.pop()
        elif part != ".":
            resolved.append(part)
    return "/".join(resolved)


def _load(root, cache, namespace, module_id: str, path: str) -> ModuleType:
    source = _lookup(root, module_id, path)
    module = ModuleType(module_id)
    module.__dict__.update(namespace)
    module.__dict__["require"] = make_require(root, cache, namespace, module_id)
    # Cached before it runs, so modules that require each other terminate.
    cache[module_id] = module
    try:
        run_source(
            compile(parse_source(source, module_id), module_id, "exec"),
            module.__dict__,
            module_id,
        )
    except CompilationError as exc:
        del cache[module_id]
        if isinstance(exc.__cause__, QueryError):  # its own require() failed
            raise exc.__cause__ from None
        raise QueryError("compilation_error", f"require({path!r}): {exc}") from exc
    return module


def _lookup(root: dict, module_id: str, path: str) -> str:
    node: object = root
    for part in module_id.split("/"):
        if not isinstance(node, dict) or part not in node:
            raise QueryError(
                "invalid_require_path", f"require({path!r}): no {module_id!r} found"
            )
        node = node[part]
    if not isinstance(node, str):
        raise QueryError(
            "invalid_require_path", f"require({path!r}): {module_id!r} is not source"
        )
    return node
