"""The Compute API definitions, read from pinned azure-mgmt-compute wheels on PyPI.

Nothing from azure-rest-api-specs is committed. The msrest generations of azure-mgmt-compute
are generated from that spec and keep, per model, ``_attribute_map`` (the REST key of every
property, flattened ``properties.x`` keys included, and its type) and ``_validation`` (required,
readonly, constraints). That is a complete, machine-readable form of the swagger definitions.

The wheels are fetched with ``pip download`` (no install, no import) into an ignored cache
directory, their SHA-256 is checked against the pins below, and ``_models_py3.py`` is read with
``ast``: only the literal dicts are evaluated, no code from the wheel runs.

``python -m tests.contract.definitions`` fetches them ahead of time (for offline runs).
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("CONTRACT_DEFINITIONS_DIR", REPO_ROOT / "tests" / "output" / "contract-definitions"))
DOWNLOAD_TIMEOUT_S = 240     # below pytest's per-test timeout (pytest.ini), so the message is ours


@dataclass(frozen=True)
class Wheel:
    version: str
    sha256: str
    module: str                 # the models file inside the wheel
    api_version: str            # the Compute API version that module describes
    only: tuple = ()            # take only these models (empty: all)

    @property
    def filename(self) -> str:
        return f"azure_mgmt_compute-{self.version}-py3-none-any.whl"


# 37.2.0 is the last msrest-based release (38.0.0 switched to "hybrid" models); Compute 2025-04-01.
MAIN = Wheel("37.2.0", "70741c26ac94c30408a3b20f4fdfe93e6481e308b3c14a6dbefdfd4794028616",
             "azure/mgmt/compute/models/_models_py3.py", "2025-04-01")
# Compute's own async-operation document (OperationStatusResponse) left the spec after 2017-12-01;
# 30.6.0 still ships that API version's models. Only that model is taken from it.
OPERATION_STATUS = Wheel("30.6.0", "9f6d29864ebe080796d4020533e79e4c8508512d3c53ec5a7a8930e4bd2f0bd4",
                         "azure/mgmt/compute/v2017_12_01/models/_models_py3.py", "2017-12-01",
                         only=("OperationStatusResponse",))
WHEELS = (MAIN, OPERATION_STATUS)

_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")


@dataclass(frozen=True)
class Field:
    attr: str                   # the Python attribute (for messages)
    key: tuple                  # the REST path: ("properties", "hardwareProfile")
    type: str                   # msrest type: str, bool, [X], {X}, iso-8601, ModelName, ...
    required: bool = False
    readonly: bool = False
    constraints: tuple = ()     # (("max_length", 64), ...)
    enum: tuple = ()            # allowed values of a fixed (not modelAsString) enum


@dataclass
class Model:
    name: str
    fields: dict                # attr -> Field
    additional: str | None = None   # type of additional properties, or None when not allowed
    subtypes: dict = field(default_factory=dict)   # discriminator REST key -> {value: model}
    origin: str = ""


class Definitions:
    """Models by name, plus variants derived from them (see deviations.py)."""

    def __init__(self, models: dict[str, Model]):
        self.models = models

    def __getitem__(self, name: str) -> Model:
        return self.models[name]

    def __contains__(self, name: str) -> bool:
        return name in self.models

    def derive(self, name: str, base: str, *, types: dict | None = None, drop: tuple = (), add: dict | None = None,
               required: tuple = (), origin: str) -> Model:
        """A variant of ``base``: fields retyped, dropped, added (REST key -> type) or made required."""
        src = self.models[base]
        fields = {}
        for attr, f in src.fields.items():
            if attr in drop:
                continue
            f = replace(f, type=(types or {}).get(attr, f.type), required=f.required or attr in required)
            fields[attr] = f
        for key, type_ in (add or {}).items():
            fields[key] = Field(attr=key, key=split_key(key), type=type_)
        model = Model(name, fields, src.additional, dict(src.subtypes), origin)
        self.models[name] = model
        return model

    def restrict_enum(self, model: str, attr: str, values: tuple) -> None:
        f = self.models[model].fields[attr]
        self.models[model].fields[attr] = replace(f, enum=tuple(values))


def split_key(key: str) -> tuple:
    return tuple(part.replace("\\.", ".") for part in _UNESCAPED_DOT.split(key))


def _literal(node: ast.AST):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def parse_models(source: str, origin: str, only: tuple = ()) -> dict[str, Model]:
    """Every class with an ``_attribute_map`` in an msrest models module."""
    classes = {}
    with warnings.catch_warnings():     # the generated docstrings hold "\ " escapes
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            assigned = {stmt.targets[0].id: stmt.value for stmt in node.body
                        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                        and isinstance(stmt.targets[0], ast.Name)}
            bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
            classes[node.name] = (bases, assigned)

    def lookup(name: str, attr: str):
        """A class attribute, inherited from the first base that has it (msrest subclasses that
        add nothing carry no maps of their own)."""
        bases, assigned = classes[name]
        if attr in assigned:
            return _literal(assigned[attr])
        for base in bases:
            if base in classes:
                return lookup(base, attr)
        return None

    models = {}
    for name in classes:
        if (only and name not in only) or lookup(name, "_attribute_map") is None:
            continue
        models[name] = _model(name, lookup(name, "_attribute_map"), lookup(name, "_validation") or {},
                              lookup(name, "_subtype_map") or {}, origin)
    return models


def _model(name: str, attribute_map: dict, validation: dict, subtype_map: dict, origin: str) -> Model:
    fields, additional = {}, None
    for attr, spec in attribute_map.items():
        if spec["key"] == "":               # msrest's additional_properties
            additional = spec["type"][1:-1] if spec["type"].startswith("{") else "object"
            continue
        rules = dict(validation.get(attr, {}))
        fields[attr] = Field(attr=attr, key=split_key(spec["key"]), type=spec["type"],
                             required=bool(rules.pop("required", False)) | bool(rules.pop("constant", False)),
                             readonly=bool(rules.pop("readonly", False)),
                             constraints=tuple(sorted(rules.items())))
    subtypes = {}
    for attr, mapping in subtype_map.items():
        subtypes[attribute_map[attr]["key"]] = dict(mapping)
    return Model(name, fields, additional, subtypes, origin)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(wheel: Wheel, cache_dir: Path = CACHE_DIR) -> Path:
    """The wheel from the cache, or from PyPI through pip (hash-checked either way)."""
    target = cache_dir / wheel.filename
    if target.is_file() and _sha256(target) == wheel.sha256:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-cache-dir",
               "--disable-pip-version-check", "--quiet", "--dest", tmp, f"azure-mgmt-compute=={wheel.version}"]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, check=False)
        got = Path(tmp) / wheel.filename
        if result.returncode != 0 or not got.is_file():
            raise RuntimeError(f"pip download of azure-mgmt-compute=={wheel.version} failed (exit {result.returncode}):"
                               f"\n{result.stderr.strip()[-2000:]}")
        digest = _sha256(got)
        if digest != wheel.sha256:
            raise RuntimeError(f"{wheel.filename}: sha256 {digest} does not match the pin {wheel.sha256}")
        os.replace(got, target)
    return target


def load(cache_dir: Path = CACHE_DIR) -> Definitions:
    models: dict[str, Model] = {}
    for wheel in WHEELS:
        with zipfile.ZipFile(fetch(wheel, cache_dir)) as archive:
            source = archive.read(wheel.module).decode("utf-8")
        origin = f"azure-mgmt-compute {wheel.version} ({wheel.module}, Compute {wheel.api_version})"
        models.update(parse_models(source, origin, wheel.only))
    return Definitions(models)


if __name__ == "__main__":
    for w in WHEELS:
        print(fetch(w))
