"""Strict validation of a JSON document against a definition (see definitions.py).

A document fails on:
- a property that the definition does not declare (unless it allows additional properties),
- a missing required property,
- a wrong JSON type (null included: no definition here is nullable),
- a date-time / duration / date that is not in ISO 8601 form,
- a broken constraint (length, pattern, range, item count),
- a value outside a fixed enum (``modelAsString: false``). Every other enum is typed ``str`` by the
  generator, so any string passes, as the spec says for ``modelAsString: true``.

Read-only properties are expected in responses, so ``readOnly`` never fails a response.
"""

from __future__ import annotations

import re

from .definitions import Definitions, Model

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DURATION = re.compile(r"^-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
RFC_1123 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


PRIMITIVES = {
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "int": _is_int,
    "long": _is_int,
    "float": lambda v: _is_int(v) or isinstance(v, float),
    "decimal": lambda v: _is_int(v) or isinstance(v, float),
    "object": lambda v: True,
    "iso-8601": lambda v: isinstance(v, str) and bool(DATE_TIME.match(v)),
    "date": lambda v: isinstance(v, str) and bool(DATE.match(v)),
    "duration": lambda v: isinstance(v, str) and bool(DURATION.match(v)),
    "rfc-1123": lambda v: isinstance(v, str) and bool(RFC_1123.match(v)),
    "unix-time": _is_int,
    "bytearray": lambda v: isinstance(v, str),
    "base64": lambda v: isinstance(v, str),
}


class Validator:
    def __init__(self, definitions: Definitions):
        self.defs = definitions

    def errors(self, type_name: str, value, path: str = "$") -> list[str]:
        out: list[str] = []
        self._value(type_name, value, path, out)
        return out

    # --- one value of a msrest type ----------------------------------------------------------
    def _value(self, type_name: str, value, path: str, out: list) -> None:
        if value is None:
            out.append(f"{path}: null where the definition says {type_name}")
        elif type_name.startswith("[") and type_name.endswith("]"):
            if not isinstance(value, list):
                out.append(f"{path}: {_kind(value)} where the definition says an array {type_name}")
                return
            for i, item in enumerate(value):
                self._value(type_name[1:-1], item, f"{path}[{i}]", out)
        elif type_name.startswith("{") and type_name.endswith("}"):
            if not isinstance(value, dict):
                out.append(f"{path}: {_kind(value)} where the definition says a map {type_name}")
                return
            for key, item in value.items():
                self._value(type_name[1:-1], item, f"{path}.{key}", out)
        elif type_name in PRIMITIVES:
            if not PRIMITIVES[type_name](value):
                out.append(f"{path}: {_kind(value)} {_short(value)} is not a valid {type_name}")
        elif type_name in self.defs:
            self._model(self.defs[type_name], value, path, out)
        else:
            out.append(f"{path}: the definition names an unknown type {type_name!r}")

    # --- an object against a model --------------------------------------------------------------
    def _model(self, model: Model, value, path: str, out: list) -> None:
        if not isinstance(value, dict):
            out.append(f"{path}: {_kind(value)} where the definition says an object ({model.name})")
            return
        model = self._subtype(model, value)
        tree: dict = {}
        for f in model.fields.values():
            node = tree
            for part in f.key[:-1]:
                node = node.setdefault(part, {})
            node[f.key[-1]] = f
        self._object(model, tree, value, path, out)

    def _object(self, model: Model, tree: dict, value: dict, path: str, out: list) -> None:
        for key, item in value.items():
            sub = f"{path}.{key}"
            node = tree.get(key)
            if node is None:
                if model.additional is not None:
                    self._value(model.additional, item, sub, out)
                else:
                    out.append(f"{sub}: not declared in {model.name} ({model.origin})")
            elif isinstance(node, dict):        # a flattened container such as "properties"
                if isinstance(item, dict):
                    self._object(model, node, item, sub, out)
                else:
                    out.append(f"{sub}: {_kind(item)} where {model.name} has an object")
            else:
                self._value(node.type, item, sub, out)
                if item is not None:
                    self._rules(model, node, item, sub, out)
        for key, node in tree.items():
            if key in value:
                continue
            if isinstance(node, dict):
                if _any_required(node):
                    out.append(f"{path}.{key}: missing, and {model.name} requires properties inside it")
            elif node.required:
                out.append(f"{path}.{key}: required by {model.name} but missing")

    def _rules(self, model: Model, f, value, path: str, out: list) -> None:
        if f.enum and value not in f.enum:
            out.append(f"{path}: {value!r} is not one of the fixed enum {list(f.enum)} of {model.name}.{f.attr}")
        for rule, limit in f.constraints:
            problem = _constraint(rule, limit, value)
            if problem:
                out.append(f"{path}: {problem} ({model.name}.{f.attr})")

    def _subtype(self, model: Model, value: dict) -> Model:
        for key, mapping in model.subtypes.items():
            name = mapping.get(value.get(key))
            if name and name in self.defs:
                return self.defs[name]
        return model


def _any_required(tree: dict) -> bool:
    return any(_any_required(n) if isinstance(n, dict) else n.required for n in tree.values())


def _constraint(rule: str, limit, value) -> str | None:
    checks = {
        "max_length": lambda: len(value) <= limit,
        "min_length": lambda: len(value) >= limit,
        "max_items": lambda: len(value) <= limit,
        "min_items": lambda: len(value) >= limit,
        "maximum": lambda: value <= limit,
        "minimum": lambda: value >= limit,
        "maximum_ex": lambda: value < limit,
        "minimum_ex": lambda: value > limit,
        "pattern": lambda: re.search(limit, value) is not None,
        "multiple": lambda: value % limit == 0,
        "unique": lambda: not limit or len({repr(v) for v in value}) == len(value),
    }
    check = checks.get(rule)
    if check is None:
        return f"unknown constraint {rule}"
    try:
        return None if check() else f"breaks {rule}={limit!r}"
    except TypeError:
        return f"cannot apply {rule} to {_kind(value)}"


def _kind(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
