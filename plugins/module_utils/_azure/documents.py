# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a VM and its VMAccess extension look like, parsed from ARM's REST documents.

Pure functions over plain dicts in the REST shape, whichever read they came from, and knowing
what each read leaves out (AZURE_VMACCESS_FACTS.md §8):

- a single VM GET (``$expand=instanceView``) carries the model, full extension objects in
  ``resources[]`` (``forceUpdateTag`` included) and the instance view;
- a plain VM list carries the model with extensions as bare ids only;
- a ``statusOnly=true`` list carries the instance view without the model (``merge_vm_documents``
  joins the two passes); instance views name each extension's type and last status, never a tag;
- an extension GET or list carries the extension's model (and instance view on request).

Nothing here interprets ``forceUpdateTag``: that is the engine's business.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import List, Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.refs import VmRef, parse_vm_id
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

VMACCESS_PUBLISHER = "Microsoft.Compute"
VMACCESS_TYPE = "VMAccessAgent"
VMACCESS_VIEW_TYPE = "microsoft.compute.vmaccessagent"

_TIME_PATTERN = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")
_MODEL_KEYS = ("osProfile", "storageProfile", "hardwareProfile", "networkProfile")


def parse_time(value):
    """An ARM timestamp (7 fractional digits, 'Z' or an offset) as an aware datetime, or None."""
    match = _TIME_PATTERN.match(value.strip()) if isinstance(value, str) else None
    if not match:
        return None
    base, fraction, zone = match.groups()
    moment = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    if fraction:
        moment += timedelta(microseconds=int((fraction + "000000")[:6]))
    offset = timedelta()
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.replace(tzinfo=timezone.utc) - offset


def major_minor(version):
    """'2.4.9' -> '2.4': what a PUT may ask for (the running build is not a requestable version)."""
    parts = version_tuple(version)
    return "%d.%d" % (parts[0], parts[1] if len(parts) > 1 else 0) if parts else None


def version_tuple(version):
    parts = []
    for piece in str(version or "").split("."):
        try:
            parts.append(int(piece))
        except ValueError:
            break
    return tuple(parts)


@dataclass
class Status:
    """One instance-view status: what the guest (or the agent) last reported."""

    code: Optional[str] = None
    level: Optional[str] = None
    display_status: Optional[str] = None
    message: Optional[str] = None
    time: Optional[str] = None

    @property
    def moment(self):
        return parse_time(self.time)

    @property
    def transitioning(self):
        return (self.code or "").lower().startswith("provisioningstate/transitioning")

    @property
    def failed(self):
        return (self.level or "").lower() == "error" or (self.code or "").lower().startswith("provisioningstate/failed")

    @property
    def succeeded(self):
        return (self.code or "").lower().startswith("provisioningstate/succeeded") and not self.failed

    def newer_than(self, other):
        """Reported after ``other`` (a Status or None); unknown times never count as newer."""
        if other is None or other.moment is None:
            return self.moment is not None or other is None
        return self.moment is not None and self.moment > other.moment


@dataclass
class ExtensionState:
    """One extension instance: its model (what was asked) and instance view (what ran).

    ``has_model`` is False when only an instance view was read (a VM list): then the requested
    version, settings, tag and provisioning state are unknown.
    """

    name: str
    publisher: Optional[str] = None
    type: Optional[str] = None
    has_model: bool = True
    type_handler_version: Optional[str] = None
    auto_upgrade_minor_version: Optional[bool] = None
    force_update_tag: Optional[str] = None
    settings: dict = field(default_factory=dict)
    provisioning_state: Optional[str] = None
    running_version: Optional[str] = None
    status: Optional[Status] = None
    substatuses: List[dict] = field(default_factory=list)

    @property
    def in_progress(self):
        if self.provisioning_state:
            return self.provisioning_state.lower() in ("creating", "updating", "deleting")
        return bool(self.status and self.status.transitioning)

    @property
    def failed(self):
        return (self.provisioning_state or "").lower() == "failed" or bool(self.status and self.status.failed)

    @property
    def succeeded(self):
        if self.failed:
            return False
        if self.provisioning_state:
            return self.provisioning_state.lower() == "succeeded"
        return bool(self.status and self.status.succeeded)


@dataclass
class VmState:
    """A VM as one read (or two merged list passes) showed it."""

    ref: VmRef
    has_model: bool = True
    location: Optional[str] = None
    vm_uuid: Optional[str] = None
    os_type: Optional[str] = None
    power_state: Optional[str] = None
    provisioning_state: Optional[str] = None
    agent_status: Optional[str] = None
    agent_version: Optional[str] = None
    agent_message: Optional[str] = None
    agent_time: Optional[str] = None
    admin_username: Optional[str] = None
    allow_extension_operations: Optional[bool] = None
    vm_size: Optional[str] = None
    tags: dict = field(default_factory=dict)
    network_interfaces: List[str] = field(default_factory=list)  # NIC ids (model only)
    extension: Optional[ExtensionState] = None  # the VMAccessAgent instance
    unidentified_extensions: List[str] = field(default_factory=list)  # known by id only

    @property
    def id(self):
        return self.ref.id

    @property
    def is_windows(self):
        return (self.os_type or "").lower() == "windows"

    @property
    def is_running(self):
        return self.power_state == "running"

    @property
    def agent_ready(self):
        return (self.agent_status or "").lower() == "ready"


# --------------------------------------------------------------------------- parsing


def _text(value):
    """A string field: the string, or None when absent; anything else is a document of an
    unexpected shape (TypeError, turned into unexpected_response by the parsers)."""
    if value is None or isinstance(value, str):
        return value
    raise TypeError("expected a string, got %s" % type(value).__name__)


def _flag(value):
    if value is None or isinstance(value, bool):
        return value
    raise TypeError("expected a boolean, got %s" % type(value).__name__)


def dig(doc, *path):
    """doc[path[0]][path[1]]... or None where a level is missing or not a mapping."""
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _status(raw):
    if not isinstance(raw, dict):
        return None
    return Status(code=_text(raw.get("code")), level=_text(raw.get("level")),
                  display_status=_text(raw.get("displayStatus")), message=_text(raw.get("message")),
                  time=_text(raw.get("time")))


def _first_status(statuses, prefix):
    for raw in statuses or []:
        if isinstance(raw, dict) and (raw.get("code") or "").lower().startswith(prefix):
            return raw
    return None


def is_vmaccess(publisher, ext_type):
    return (publisher or "").lower() == "microsoft.compute" and (ext_type or "").lower() == "vmaccessagent"


def _model_type(doc):
    props = dig(doc, "properties") or {}
    return props.get("type") or props.get("virtualMachineExtensionType")


def find_vmaccess_model(extension_docs):
    """The VMAccessAgent instance among extension documents that carry their model."""
    for doc in extension_docs or []:
        if is_vmaccess(dig(doc, "properties", "publisher"), _model_type(doc)):
            return doc
    return None


def _unexpected(what):
    return VmAccessError("unexpected_response", "Azure returned %s of an unexpected shape; run again, and "
                         "report it if it persists." % what)


def parse_extension(model=None, view=None):
    """ExtensionState from an extension document (its model) and/or an instance-view entry."""
    if model is None and view is None:
        return None
    try:
        return _parse_extension(model, view)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError):
        raise _unexpected("an extension document") from None


def _parse_extension(model, view):
    props = dig(model, "properties") or {}
    if view is None:
        view = props.get("instanceView")
    view = view if isinstance(view, dict) else {}
    statuses = view.get("statuses") or []
    raw_status = _first_status(statuses, "provisioningstate/") or (statuses[0] if statuses else None)
    view_type = _text(view.get("type")) or ""
    publisher, _dot, view_kind = view_type.rpartition(".")
    return ExtensionState(
        name=_text((model or {}).get("name")) or _text(view.get("name")),
        publisher=_text(props.get("publisher")) or publisher or None,
        type=_text(_model_type(model)) or view_kind or None,
        has_model=model is not None,
        type_handler_version=_text(props.get("typeHandlerVersion")),
        auto_upgrade_minor_version=_flag(props.get("autoUpgradeMinorVersion")),
        force_update_tag=_text(props.get("forceUpdateTag")),
        settings=props.get("settings") if isinstance(props.get("settings"), dict) else {},
        provisioning_state=_text(props.get("provisioningState")),
        running_version=_text(view.get("typeHandlerVersion")),
        status=_status(raw_status),
        substatuses=[_status_dict(s) for s in view.get("substatuses") or [] if isinstance(s, dict)],
    )


def _status_dict(raw):
    return {"code": raw.get("code"), "level": raw.get("level"), "display_status": raw.get("displayStatus"),
            "message": raw.get("message"), "time": raw.get("time")}


def merge_vm_documents(model_doc, status_doc):
    """One VM document from a plain list item (model) and a statusOnly list item (instance view)."""
    merged = dict(model_doc or {})
    props = dict(merged.get("properties") or {})
    view = dig(status_doc, "properties", "instanceView")
    if view is not None:
        props["instanceView"] = view
    merged["properties"] = props
    if not merged.get("id") and status_doc:
        merged.update(id=status_doc.get("id"), name=status_doc.get("name"), location=status_doc.get("location"))
    return merged


def parse_vm(doc, ref=None):
    """Parse a VM document of any read (see the module docstring)."""
    if not isinstance(doc, dict):
        raise VmAccessError("unexpected_response", "Azure returned a virtual machine document that is not an object.")
    if ref is None:
        ref = parse_vm_id(doc.get("id") if isinstance(doc.get("id"), str) else "")
    try:
        return _parse_vm(doc, ref)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError):
        raise _unexpected("a virtual machine document for %s" % ref.name) from None


def _parse_vm(doc, ref):
    props = doc.get("properties") or {}
    view = props.get("instanceView")
    view = view if isinstance(view, dict) else {}
    statuses = view.get("statuses") or []
    power = _first_status(statuses, "powerstate/")
    provisioning = _first_status(statuses, "provisioningstate/")
    agent = view.get("vmAgent") if isinstance(view.get("vmAgent"), dict) else {}
    agent_status = _first_status(agent.get("statuses"), "") or {}
    os_type = dig(props, "storageProfile", "osDisk", "osType")
    if not os_type and isinstance(view.get("osName"), str) and view["osName"]:
        os_type = "Windows" if "windows" in view["osName"].lower() else "Linux"
    os_profile = props.get("osProfile") or {}
    state = VmState(
        ref=VmRef(ref.subscription_id, _text(doc.get("resourceGroup")) or ref.resource_group,
                  _text(doc.get("name")) or ref.name),
        has_model=any(key in props for key in _MODEL_KEYS),
        location=_text(doc.get("location")),
        vm_uuid=_text(props.get("vmId")),
        os_type=_text(os_type),
        power_state=power["code"].split("/", 1)[1].lower() if power else None,
        provisioning_state=_text(props.get("provisioningState"))
        or (provisioning["code"].split("/", 1)[1] if provisioning else None),
        agent_status=_text(agent_status.get("displayStatus")) if agent else None,
        agent_version=_text(agent.get("vmAgentVersion")),
        agent_message=_text(agent_status.get("message")),
        agent_time=_text(agent_status.get("time")),
        admin_username=_text(os_profile.get("adminUsername")),
        allow_extension_operations=_flag(os_profile.get("allowExtensionOperations", True)) if os_profile else None,
        vm_size=_text(dig(props, "hardwareProfile", "vmSize")),
        tags=doc.get("tags") if isinstance(doc.get("tags"), dict) else {},
        network_interfaces=[_text(nic.get("id")) for nic in dig(props, "networkProfile", "networkInterfaces") or []
                            if isinstance(nic, dict) and nic.get("id")],
    )
    _attach_extensions(state, doc.get("resources") or [], view.get("extensions") or [])
    return state


def _attach_extensions(state, resources, views):
    """Find the VMAccess instance among full objects, bare ids and instance-view entries."""
    views = [v for v in views if isinstance(v, dict)]
    view_names = set((_text(v.get("name")) or "").lower() for v in views)
    full = [r for r in resources if isinstance(r, dict) and isinstance(r.get("properties"), dict)]
    for resource in resources:
        if isinstance(resource, dict) and not isinstance(resource.get("properties"), dict):
            name = (_text(resource.get("id")) or "").rstrip("/").rsplit("/", 1)[-1]
            if name and name.lower() not in view_names:
                state.unidentified_extensions.append(name)
    model = find_vmaccess_model(full)
    view = next((v for v in views if (_text(v.get("type")) or "").lower() == VMACCESS_VIEW_TYPE), None)
    if model is not None and view is not None and (view.get("name") or "").lower() != (model.get("name") or "").lower():
        view = None
    if model is not None or view is not None:
        state.extension = parse_extension(model, view)
