# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a VM and its VMAccess extension look like, parsed from ARM's REST documents.

Pure functions over plain dicts (the REST shape, as any azure-mgmt-compute version can
return it), so the same parsing serves the modules, the info module and the inventory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from dataclasses import dataclass, field
from typing import List, Optional

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError
from ansible_collections.azure_ops.vm_access.plugins.module_utils.fingerprint import describe_tag

VMACCESS_PUBLISHER = "Microsoft.Compute"
VMACCESS_TYPE = "VMAccessAgent"
VMACCESS_FULL_TYPE = "microsoft.compute.vmaccessagent"
LINUX_VMACCESS_FULL_TYPE = "microsoft.ostcextensions.vmaccessforlinux"

_VM_ID_PATTERN = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)/?$",
    re.IGNORECASE,
)
_NAME_PATTERN = re.compile(r"^[^/\\?#\x00-\x1f]{1,90}$")


@dataclass(frozen=True)
class VmRef:
    """Where a VM lives: enough to address it in ARM."""

    subscription_id: str
    resource_group: str
    name: str

    @property
    def id(self):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (
            self.subscription_id, self.resource_group, self.name)


def parse_vm_id(vm_id):
    """Split a full ARM VM id; invalid ids are rejected before any API call."""
    match = _VM_ID_PATTERN.match((vm_id or "").strip())
    if not match:
        raise VmAccessError(
            "invalid_argument",
            "vm_id is not a virtual machine resource id. Expected "
            "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/virtualMachines/<name>.",
        )
    return VmRef(match.group("sub"), match.group("rg"), match.group("name"))


def check_resource_name(value, option):
    if not _NAME_PATTERN.match(value or ""):
        raise VmAccessError(
            "invalid_argument",
            "%s must be 1 to 90 characters without '/', '\\', '?', '#' or control characters." % option,
        )


@dataclass
class ExtensionState:
    """The VMAccessAgent instance on a VM: its model (what was asked) and instance view (what ran)."""

    name: str
    publisher: str = VMACCESS_PUBLISHER
    type: str = VMACCESS_TYPE
    type_handler_version: Optional[str] = None
    auto_upgrade_minor_version: Optional[bool] = None
    force_update_tag: Optional[str] = None
    settings: dict = field(default_factory=dict)
    provisioning_state: Optional[str] = None
    running_version: Optional[str] = None
    status_code: Optional[str] = None
    status_level: Optional[str] = None
    status_message: Optional[str] = None
    substatuses: List[dict] = field(default_factory=list)

    @property
    def in_progress(self):
        return (self.provisioning_state or "").lower() in ("creating", "updating", "deleting")

    @property
    def failed(self):
        code = (self.status_code or "").lower()
        return ((self.provisioning_state or "").lower() == "failed"
                or (self.status_level or "").lower() == "error"
                or code.startswith("provisioningstate/failed"))

    @property
    def succeeded(self):
        return (self.provisioning_state or "").lower() == "succeeded" and not self.failed

    def public(self):
        """The extension as we report it: never protected settings, never the raw tag."""
        return {
            "name": self.name,
            "publisher": self.publisher,
            "type": self.type,
            "type_handler_version": self.type_handler_version,
            "running_version": self.running_version,
            "auto_upgrade_minor_version": self.auto_upgrade_minor_version,
            "settings": dict(self.settings or {}),
            "provisioning_state": self.provisioning_state,
            "status_code": self.status_code,
            "status_level": self.status_level,
            "status_message": self.status_message,
            "substatuses": list(self.substatuses),
            "fingerprint_kind": describe_tag(self.force_update_tag),
            "last_run_succeeded": self.succeeded if self.provisioning_state else None,
        }


@dataclass
class VmState:
    """A VM as the pre-flight sees it, from one GET with the instance view."""

    ref: VmRef
    location: Optional[str] = None
    vm_uuid: Optional[str] = None
    os_type: Optional[str] = None
    power_state: Optional[str] = None
    provisioning_state: Optional[str] = None
    agent_status: Optional[str] = None
    agent_version: Optional[str] = None
    agent_message: Optional[str] = None
    admin_username: Optional[str] = None
    allow_extension_operations: Optional[bool] = None
    vm_size: Optional[str] = None
    tags: dict = field(default_factory=dict)
    extension: Optional[ExtensionState] = None
    linux_vmaccess: Optional[str] = None

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

    def public(self):
        return {
            "id": self.id,
            "name": self.ref.name,
            "resource_group": self.ref.resource_group,
            "subscription_id": self.ref.subscription_id,
            "location": self.location,
            "vm_uuid": self.vm_uuid,
            "os_type": self.os_type,
            "power_state": self.power_state,
            "provisioning_state": self.provisioning_state,
            "agent_status": self.agent_status,
            "agent_version": self.agent_version,
            "agent_message": self.agent_message,
            "admin_username": self.admin_username,
            "allow_extension_operations": self.allow_extension_operations,
            "vm_size": self.vm_size,
            "tags": dict(self.tags or {}),
        }


def _text(value):
    """A string field of an ARM document: the string, or None when absent; anything else is a
    document of an unexpected shape (TypeError, turned into unexpected_response by the parsers)."""
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


def _first_status(statuses, prefix):
    for status in statuses or []:
        if isinstance(status, dict) and (status.get("code") or "").lower().startswith(prefix):
            return status
    return None


def _is_vmaccess(publisher, ext_type):
    return (publisher or "").lower() == "microsoft.compute" and (ext_type or "").lower() == "vmaccessagent"


def find_vmaccess_model(resources):
    """The VMAccessAgent instance among a VM's child resources, matched by publisher + type."""
    for resource in resources or []:
        props = dig(resource, "properties") or {}
        ext_type = props.get("type") or props.get("virtualMachineExtensionType")
        if _is_vmaccess(props.get("publisher"), ext_type):
            return resource
    return None


def find_vmaccess_view(extension_views):
    for view in extension_views or []:
        if isinstance(view, dict) and (view.get("type") or "").lower() == VMACCESS_FULL_TYPE:
            return view
    return None


def parse_extension(model=None, view=None):
    """Merge an extension's model (resource) and instance view into ExtensionState."""
    if model is None and view is None:
        return None
    try:
        return _parse_extension(model, view)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError):
        raise VmAccessError("unexpected_response",
                            "Azure returned an extension document of an unexpected shape; run again, and report it "
                            "if it persists.") from None


def _parse_extension(model, view):
    props = dig(model, "properties") or {}
    if view is None:
        view = props.get("instanceView")
    name = _text((model or {}).get("name")) or _text((view or {}).get("name"))
    statuses = (view or {}).get("statuses") or []
    provisioning = _first_status(statuses, "provisioningstate/") or (statuses[0] if statuses else None)
    state = ExtensionState(
        name=name,
        publisher=_text(props.get("publisher")) or VMACCESS_PUBLISHER,
        type=_text(props.get("type")) or _text(props.get("virtualMachineExtensionType")) or VMACCESS_TYPE,
        type_handler_version=_text(props.get("typeHandlerVersion")) or _text((view or {}).get("typeHandlerVersion")),
        auto_upgrade_minor_version=_flag(props.get("autoUpgradeMinorVersion")),
        force_update_tag=_text(props.get("forceUpdateTag")),
        settings=props.get("settings") if isinstance(props.get("settings"), dict) else {},
        provisioning_state=_text(props.get("provisioningState")),
        running_version=_text((view or {}).get("typeHandlerVersion")),
        substatuses=[_status_summary(s) for s in (view or {}).get("substatuses") or [] if isinstance(s, dict)],
    )
    if provisioning:
        state.status_code = _text(provisioning.get("code"))
        state.status_level = _text(provisioning.get("level"))
        state.status_message = _text(provisioning.get("message")) or _text(provisioning.get("displayStatus"))
    if state.provisioning_state is None and state.status_code:
        # An instance view alone (VM list) still tells how the last run ended.
        code = state.status_code.lower()
        if code.startswith("provisioningstate/succeeded"):
            state.provisioning_state = "Succeeded"
        elif code.startswith("provisioningstate/failed"):
            state.provisioning_state = "Failed"
        elif code.startswith("provisioningstate/transitioning"):
            state.provisioning_state = "Updating"
    return state


def _status_summary(status):
    return {
        "code": status.get("code"),
        "level": status.get("level"),
        "display_status": status.get("displayStatus"),
        "message": status.get("message"),
    }


def parse_vm(doc, ref=None):
    """Parse a VM document (GET with $expand=instanceView, or a statusOnly list item)."""
    if not isinstance(doc, dict):
        raise VmAccessError("unexpected_response", "Azure returned a virtual machine document that is not an object.")
    if ref is None:
        ref = parse_vm_id(doc.get("id") if isinstance(doc.get("id"), str) else "")
    try:
        return _parse_vm(doc, ref)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError):
        raise VmAccessError("unexpected_response",
                            "Azure returned a virtual machine document of an unexpected shape for %s; run again, "
                            "and report it if it persists." % ref.name) from None


def _parse_vm(doc, ref):
    props = doc.get("properties") or {}
    view = props.get("instanceView") or {}
    statuses = view.get("statuses") or []
    power = _first_status(statuses, "powerstate/")
    provisioning = _first_status(statuses, "provisioningstate/")
    agent = view.get("vmAgent") or {}
    agent_status = _first_status(agent.get("statuses"), "")
    os_type = dig(props, "storageProfile", "osDisk", "osType")
    if not os_type and view.get("osName"):
        os_type = "Windows" if "windows" in view["osName"].lower() else "Linux"
    os_profile = props.get("osProfile") or {}

    state = VmState(
        ref=VmRef(ref.subscription_id, _text(doc.get("resourceGroup")) or ref.resource_group,
                  _text(doc.get("name")) or ref.name),
        location=_text(doc.get("location")),
        vm_uuid=_text(props.get("vmId")),
        os_type=_text(os_type),
        power_state=power["code"].split("/", 1)[1].lower() if power else None,
        provisioning_state=_text(props.get("provisioningState"))
        or (provisioning["code"].split("/", 1)[1] if provisioning else None),
        agent_status=_text((agent_status or {}).get("displayStatus")) if agent else None,
        agent_version=_text(agent.get("vmAgentVersion")),
        agent_message=_text((agent_status or {}).get("message")),
        admin_username=_text(os_profile.get("adminUsername")),
        allow_extension_operations=_flag(os_profile.get("allowExtensionOperations", True)) if os_profile else None,
        vm_size=_text(dig(props, "hardwareProfile", "vmSize")),
        tags=doc.get("tags") or {},
    )
    model = find_vmaccess_model(doc.get("resources"))
    view_ext = find_vmaccess_view(view.get("extensions"))
    if model is not None or view_ext is not None:
        if model is not None and view_ext is not None and (view_ext.get("name") or "").lower() != (model.get("name") or "").lower():
            view_ext = None
        state.extension = parse_extension(model, view_ext)
    for ext_view in view.get("extensions") or []:
        if isinstance(ext_view, dict) and (ext_view.get("type") or "").lower() == LINUX_VMACCESS_FULL_TYPE:
            state.linux_vmaccess = ext_view.get("name")
    return state


def version_tuple(version):
    parts = []
    for piece in str(version or "").split("."):
        try:
            parts.append(int(piece))
        except ValueError:
            break
    return tuple(parts)
