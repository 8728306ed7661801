# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure half of the ``azure_ops.vm_access.azure_vms`` inventory plugin.

A VM document (REST shape, from a list call with instance views) becomes a dict of host
variables; filters, default groups and host names are functions of those variables. Nothing
here talks to Azure or imports Ansible, so all of it is unit-testable as plain Python, and the
plugin caches exactly what ``host_vars`` returns (plain JSON, never a credential).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import dig, parse_vm
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.views import extension_view
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

# Every host variable the plugin sets, in the order the documentation lists them.
HOSTVAR_NAMES = (
    # our names
    "vm_id", "vm_name", "resource_group", "subscription_id", "location", "os_type", "power_state",
    "provisioning_state", "agent_status", "agent_version", "admin_username", "computer_name",
    "vm_size", "vm_uuid", "vm_tags", "image", "network_interface_ids", "vmaccess",
) + (
    # azure.azcollection.azure_rm-compatible aliases (option azure_rm_aliases)
    "id", "name", "tags", "powerstate", "os_disk", "os_profile", "virtual_machine_size", "vmid",
)
AZURE_RM_ALIASES = ("id", "name", "tags", "powerstate", "os_disk", "os_profile", "virtual_machine_size", "vmid")
# What a VM list tells of the VMAccess instance (lists carry no settings, requested version or tag).
VMACCESS_KEYS = ("name", "type", "running_version", "provisioning_state", "status_code", "status_message",
                 "status_time", "last_run_succeeded")
HOSTNAME_KEYS = {
    "name": "vm_name",
    "vm_name": "vm_name",
    "id": "vm_id",
    "vm_id": "vm_id",
    "computer_name": "computer_name",
    "vm_uuid": "vm_uuid",
}
_PATTERN_CHARS = re.compile(r"[*?\[]")
_UNSAFE_GROUP_CHARS = re.compile(r"[^a-z0-9_]")


# --------------------------------------------------------------------------- hostvars


def _lower(value):
    return value.lower() if isinstance(value, str) else None


def host_vars(doc: Mapping[str, Any]) -> Dict[str, Any]:
    """Host variables of one VM document (a plain list item merged with its statusOnly item).

    Only what the document itself holds: a VM document names its network interfaces but not
    their addresses, so there are no IP variables and no ``ansible_host`` (that would take one
    more call per NIC, which the plugin never makes).
    """
    state = parse_vm(doc)
    props = doc.get("properties") or {}
    view = props.get("instanceView") or {}
    image_ref = dig(props, "storageProfile", "imageReference") or {}
    image = None
    if image_ref:
        image = dict((key, image_ref.get(key)) for key in ("publisher", "offer", "sku", "version", "id")
                     if image_ref.get(key))
        if image_ref.get("exactVersion"):
            image["exact_version"] = image_ref["exactVersion"]
    nics = [nic.get("id") for nic in dig(props, "networkProfile", "networkInterfaces") or []
            if isinstance(nic, dict) and nic.get("id")]
    vmaccess = None
    if state.extension is not None:
        seen = extension_view(state.extension)
        vmaccess = dict((key, seen.get(key)) for key in VMACCESS_KEYS)
    os_lower = _lower(state.os_type)
    # The statusOnly list has no computerName: the OS profile's is the one lists can tell.
    computer_name = view.get("computerName") or dig(props, "osProfile", "computerName")
    return {
        "vm_id": state.id,
        "vm_name": state.ref.name,
        "resource_group": state.ref.resource_group,
        "subscription_id": state.ref.subscription_id,
        "location": state.location,
        "os_type": state.os_type,
        "power_state": state.power_state,
        "provisioning_state": state.provisioning_state,
        "agent_status": state.agent_status,
        "agent_version": state.agent_version,
        "admin_username": state.admin_username,
        "computer_name": computer_name,
        "vm_size": state.vm_size,
        "vm_uuid": state.vm_uuid,
        "vm_tags": dict(state.tags or {}),
        "image": image,
        "network_interface_ids": nics,
        "vmaccess": vmaccess,
        # azure_rm-compatible aliases (azure_rm lower-cases OS names; so do we, there)
        "id": state.id,
        "name": state.ref.name,
        "tags": dict(state.tags or {}),
        "powerstate": state.power_state,
        "os_disk": {"operating_system_type": os_lower},
        "os_profile": {"system": os_lower},
        "virtual_machine_size": state.vm_size,
        "vmid": state.vm_uuid,
    }


# --------------------------------------------------------------------------- filters


def _names(value, option):
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise VmAccessError("invalid_argument", "%s must be a list of non-empty strings." % option)
    return [v.strip() for v in value]


def _is_pattern(name):
    return bool(_PATTERN_CHARS.search(name))


def parse_tag_filter(value, option):
    """``{key: value | [values] | None}`` from a dict, or a list of ``key`` / ``key=value`` strings.

    Keys compare case-insensitively (as Azure's tag names do), values exactly. ``None`` means
    "the tag is present, whatever its value".
    """
    if value is None:
        return {}
    pairs = []
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)):
        for item in value:
            if not isinstance(item, str) or not item.strip():
                raise VmAccessError("invalid_argument", "%s entries must be 'key' or 'key=value' strings." % option)
            key, sep, val = item.partition("=")
            pairs.append((key, val if sep else None))
    else:
        raise VmAccessError("invalid_argument",
                            "%s must be a mapping of tag names to values (or null), or a list of 'key' /"
                            " 'key=value' strings." % option)
    result = {}
    for key, val in pairs:
        if not isinstance(key, str) or not key.strip():
            raise VmAccessError("invalid_argument", "%s has an empty tag name." % option)
        if val is None:
            values = None
        elif isinstance(val, (list, tuple)):
            values = tuple(str(v) for v in val)
        elif isinstance(val, bool):
            values = (str(val).lower(),)
        else:
            values = (str(val),)
        result[key.strip().lower()] = values
    return result


def _tag_matches(tags, key, values):
    for tag_key, tag_value in (tags or {}).items():
        if str(tag_key).lower() == key:
            return values is None or str(tag_value) in values
    return False


@dataclass
class HostFilter:
    """Which VMs become hosts. Resource group and VM names compare case-insensitively."""

    include_resource_groups: List[str] = field(default_factory=list)
    exclude_resource_groups: List[str] = field(default_factory=list)
    include_tags: Dict[str, Optional[Tuple[str, ...]]] = field(default_factory=dict)
    exclude_tags: Dict[str, Optional[Tuple[str, ...]]] = field(default_factory=dict)
    os_type: str = "all"
    power_states: Optional[Tuple[str, ...]] = ("running",)  # None: every state
    include_vm_names: List[str] = field(default_factory=list)
    exclude_vm_names: List[str] = field(default_factory=list)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "HostFilter":
        """The plugin's filter options (ansible-core has checked their choices) as a HostFilter."""
        os_type = str(options.get("os_type") or "all").lower()
        power = options.get("power_states")
        power = ["running"] if power is None else _names(power, "power_states")
        if not power:
            raise VmAccessError("invalid_argument", "power_states must name at least one state (or all).")
        power_states = None if "all" in power else tuple(power)
        return cls(
            include_resource_groups=[n.lower() for n in _names(options.get("include_resource_groups"),
                                                               "include_resource_groups")],
            exclude_resource_groups=[n.lower() for n in _names(options.get("exclude_resource_groups"),
                                                               "exclude_resource_groups")],
            include_tags=parse_tag_filter(options.get("include_tags"), "include_tags"),
            exclude_tags=parse_tag_filter(options.get("exclude_tags"), "exclude_tags"),
            os_type=os_type,
            power_states=power_states,
            include_vm_names=[n.lower() for n in _names(options.get("include_vm_names"), "include_vm_names")],
            exclude_vm_names=[n.lower() for n in _names(options.get("exclude_vm_names"), "exclude_vm_names")],
        )

    def listing_groups(self) -> Optional[List[str]]:
        """Resource groups to list one by one, or None to list whole subscriptions.

        Plain names are listed per group (fewer pages); any wildcard means listing the
        subscription and filtering here.
        """
        if self.include_resource_groups and not any(_is_pattern(n) for n in self.include_resource_groups):
            return sorted(set(self.include_resource_groups))
        return None

    def rejects(self, hv: Mapping[str, Any]) -> Optional[str]:
        """Why a host is filtered out (a short phrase), or None when it is kept."""
        rg = (hv.get("resource_group") or "").lower()
        name = (hv.get("vm_name") or "").lower()
        if self.include_resource_groups and not _match_any(rg, self.include_resource_groups):
            return "resource group not included"
        if _match_any(rg, self.exclude_resource_groups):
            return "resource group excluded"
        if self.include_vm_names and not _match_any(name, self.include_vm_names):
            return "name not included"
        if _match_any(name, self.exclude_vm_names):
            return "name excluded"
        if self.os_type != "all" and (hv.get("os_type") or "").lower() != self.os_type:
            return "os_type"
        if self.power_states is not None and (hv.get("power_state") or "unknown") not in self.power_states:
            return "power state %s" % (hv.get("power_state") or "unknown")
        tags = hv.get("vm_tags") or {}
        for key, values in self.include_tags.items():
            if not _tag_matches(tags, key, values):
                return "tag %s not matched" % key
        for key, values in self.exclude_tags.items():
            if _tag_matches(tags, key, values):
                return "tag %s excluded" % key
        return None

    def keeps(self, hv: Mapping[str, Any]) -> bool:
        return self.rejects(hv) is None


def _match_any(value, patterns):
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


# --------------------------------------------------------------------------- groups


def safe_group_name(name: str) -> str:
    """Lower case, anything but [a-z0-9_] replaced by '_' (valid whatever Ansible's settings)."""
    return _UNSAFE_GROUP_CHARS.sub("_", str(name).lower())


def default_groups(hv: Mapping[str, Any]) -> List[str]:
    """``windows`` / ``linux``, ``power_<state>``, ``location_<region>``."""
    groups = []
    os_lower = (hv.get("os_type") or "").lower()
    if os_lower in ("windows", "linux"):
        groups.append(os_lower)
    groups.append(safe_group_name("power_%s" % (hv.get("power_state") or "unknown")))
    if hv.get("location"):
        groups.append(safe_group_name("location_%s" % hv["location"]))
    return groups


# --------------------------------------------------------------------------- host names


def hostname_candidate(hv: Mapping[str, Any], preference: str) -> Optional[str]:
    """The value of a known ``hostnames`` key for this host, or None if empty / unknown."""
    key = HOSTNAME_KEYS.get(preference)
    if key is None:
        return None
    value = hv.get(key)
    return str(value) if value else None


def assign_hostnames(candidates: Sequence[Tuple[str, str, Mapping[str, Any]]], mode: str = "qualify"
                     ) -> Tuple[Dict[str, str], List[str]]:
    """Unique inventory host names from ``(vm_id, wanted_name, hostvars)`` triples.

    Names compare case-insensitively. With ``qualify``, every host whose wanted name is shared
    by another VM becomes ``<name>.<resource group>`` (lower case), and if that is still shared,
    ``<name>.<resource group>.<subscription id>``, the same on every run whatever the listing
    order. With ``error``, a shared name is an ``invalid_argument`` error. Returns
    ``({vm_id: host name}, [notes about renamed hosts])``.
    """
    def clashes(names):
        seen = {}
        for vm_id, name in names.items():
            seen.setdefault(name.lower(), []).append(vm_id)
        return dict((k, v) for k, v in seen.items() if len(v) > 1)

    by_id = dict((vm_id, hv) for vm_id, _name, hv in candidates)
    wanted = dict((vm_id, name) for vm_id, name, _hv in candidates)
    names = dict(wanted)
    shared = clashes(names)
    if not shared:
        return names, []
    if mode == "error":
        first = sorted(shared)[0]
        raise VmAccessError(
            "invalid_argument",
            "%d host name(s) are shared by several VMs (e.g. %r: %s). Choose other hostnames (id, or a template"
            " such as \"vm_name ~ '.' ~ resource_group\") or set hostname_collisions: qualify."
            % (len(shared), first, ", ".join(sorted(shared[first]))))
    notes = []
    for level in (1, 2):
        for ids in shared.values():
            for vm_id in ids:
                hv = by_id[vm_id]
                parts = [wanted[vm_id], (hv.get("resource_group") or "").lower()]
                if level == 2:
                    parts.append((hv.get("subscription_id") or "").lower())
                names[vm_id] = ".".join(parts)
        shared = clashes(names)
        if not shared:
            break
    if shared:  # same name, group and subscription can only be the same VM listed twice
        raise VmAccessError("unexpected_response", "Azure listed the same VM more than once: %s."
                            % ", ".join(sorted(shared)))
    for vm_id, name in wanted.items():
        if names[vm_id] != name:
            notes.append("%s -> %s" % (name, names[vm_id]))
    return names, sorted(notes)


def exposed_vars(hv: Mapping[str, Any], azure_rm_aliases: bool = False) -> Dict[str, Any]:
    """The host variables as set on the host: without the azure_rm aliases when they are off."""
    if azure_rm_aliases:
        return dict(hv)
    return dict((k, v) for k, v in hv.items() if k not in AZURE_RM_ALIASES)


def deduplicate(records: Iterable[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """Records in order, a VM listed twice (same id, any case) kept once."""
    seen = set()
    out = []
    for hv in records:
        key = (hv.get("vm_id") or "").lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(hv)
    return out
