# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM and its VMAccess instance as results and reports show them: never protected settings,
never a fingerprint's digest, and no fingerprint kind unless the extension's model was read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.fingerprint import describe_tag


def vm_view(vm):
    return {
        "id": vm.id,
        "name": vm.ref.name,
        "resource_group": vm.ref.resource_group,
        "subscription_id": vm.ref.subscription_id,
        "location": vm.location,
        "vm_uuid": vm.vm_uuid,
        "os_type": vm.os_type,
        "power_state": vm.power_state,
        "provisioning_state": vm.provisioning_state,
        "agent_status": vm.agent_status,
        "agent_version": vm.agent_version,
        "agent_message": vm.agent_message,
        "admin_username": vm.admin_username,
        "allow_extension_operations": vm.allow_extension_operations,
        "vm_size": vm.vm_size,
        "tags": dict(vm.tags or {}),
    }


def extension_view(ext):
    """``fingerprint_kind`` is None when only an instance view was read (lists carry no tag)."""
    if ext is None:
        return None
    status = ext.status
    known = ext.provisioning_state is not None or status is not None
    return {
        "name": ext.name,
        "publisher": ext.publisher,
        "type": ext.type,
        "type_handler_version": ext.type_handler_version,
        "running_version": ext.running_version,
        "auto_upgrade_minor_version": ext.auto_upgrade_minor_version,
        "settings": dict(ext.settings or {}),
        "provisioning_state": ext.provisioning_state or _state_from_status(status),
        "status_code": status.code if status else None,
        "status_level": status.level if status else None,
        "status_message": (status.message or status.display_status) if status else None,
        "status_time": status.time if status else None,
        "substatuses": list(ext.substatuses),
        "fingerprint_kind": describe_tag(ext.force_update_tag) if ext.has_model else None,
        "last_run_succeeded": ext.succeeded if known else None,
    }


def _state_from_status(status):
    """An instance view alone still tells how the last run ended."""
    if status is None:
        return None
    if status.failed:
        return "Failed"
    if status.succeeded:
        return "Succeeded"
    if status.transitioning:
        return "Updating"
    return None
