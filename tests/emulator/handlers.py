"""Published extension handler versions and how a requested typeHandlerVersion resolves to a build.

Requests name a major.minor ("2.4"); the guest runs a build ("2.4.11", shown in instance views).
A build number is not a version to request (facts §8.3): the strict emulator answers it like any
version the artifact repository does not have.
"""

from __future__ import annotations

import re

from .errors import ArmError

# (publisher.type) -> major.minor -> newest build. 2.3's patch level is ours: no source names one.
HANDLER_BUILDS = {
    "microsoft.compute.vmaccessagent": {"2.0": "2.0.2", "2.3": "2.3.3", "2.4": "2.4.11"},
    "microsoft.ostcextensions.vmaccessforlinux": {"1.4": "1.4.7.1", "1.5": "1.5.25"},
}
MAJOR_MINOR = re.compile(r"^\d+\.\d+$")


def major_minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def _build_key(build: str) -> list[int]:
    return [int(part) for part in build.split(".") if part.isdigit()]


def version_not_found(requested: str, publisher: str, ext_type: str) -> ArmError:
    return ArmError(404, "ArtifactVersionNotFound",
                    f"No version found in the artifact repository that satisfies the requested version "
                    f"'{requested}' for VM extension with publisher '{publisher}' and type '{ext_type}'.")


def resolve_version(publisher: str, ext_type: str, requested: str, auto_upgrade: bool, current: str | None,
                    *, lenient: bool = False) -> str:
    """The build the guest will run, or 404 ArtifactVersionNotFound (as Azure answers)."""
    if not MAJOR_MINOR.match(requested) and not (lenient and MAJOR_MINOR.match(major_minor(requested))):
        raise version_not_found(requested, publisher, ext_type)
    catalog = HANDLER_BUILDS.get(f"{publisher}.{ext_type}".lower())
    wanted = major_minor(requested)
    if catalog is None:  # handlers we do not model: any major.minor exists, as build .0
        return f"{wanted}.0"
    if wanted not in catalog:
        raise version_not_found(requested, publisher, ext_type)
    same_minor = current is not None and major_minor(current) == wanted
    if auto_upgrade:  # newest minor within the major
        major = wanted.split(".", maxsplit=1)[0]
        return max((b for k, b in catalog.items() if k.split(".")[0] == major), key=_build_key)
    return current if same_minor else catalog[wanted]


def seeded_build(publisher: str, ext_type: str, version: str) -> str:
    """The build of an extension a fleet file seeds: a major.minor becomes its published build."""
    if not MAJOR_MINOR.match(version):
        return version
    catalog = HANDLER_BUILDS.get(f"{publisher}.{ext_type}".lower()) or {}
    return catalog.get(version, f"{version}.0")
