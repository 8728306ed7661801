# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of the RDP diagnosis and repair entry points, and the RdpOptions they become."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.settings import AZURE_AUTH_ARGSPEC
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_engine import RdpOptions
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.argspecs import TARGET_OPTIONS
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError


def _common(wait_timeout):
    spec = dict(
        source_address=dict(type="str", default="Internet"),
        rdp_port=dict(type="int", default=3389),
        wait_timeout=dict(type="int", default=wait_timeout),
        poll_interval=dict(type="float", default=10.0),
    )
    spec.update(AZURE_AUTH_ARGSPEC)
    return spec


def check_spec():
    spec = dict(TARGET_OPTIONS, guest_checks=dict(type="bool", default=False),
                effective_rules=dict(type="bool", default=True))
    spec.update(_common(600))
    return spec


def repair_spec():
    spec = dict(TARGET_OPTIONS, allow_disable_nla=dict(type="bool", default=False), run_tag=dict(type="str"),
                effective_rules=dict(type="bool", default=True))
    spec.update(_common(1800))
    return spec


def fleet_spec():
    spec = dict(mode=dict(type="str", default="diagnose", choices=["diagnose", "repair"]),
                hosts=dict(type="list", elements="str"), guest_checks=dict(type="bool", default=False),
                allow_disable_nla=dict(type="bool", default=False), run_tag=dict(type="str"),
                max_workers=dict(type="int", default=16))
    spec.update(_common(1800))
    return spec


def rdp_options(params, repair, check_mode, effective_rules=False, max_workers=16):
    """RdpOptions from validated parameters; rejects values no VM could use before any call."""
    port = params["rdp_port"]
    if not 1 <= port <= 65535:
        raise VmAccessError("invalid_argument", "rdp_port must be a TCP port (1 to 65535).")
    if not _source_ok((params["source_address"] or "").strip()):
        raise VmAccessError("invalid_argument", "source_address must be a service tag such as Internet, or an "
                                                "address or prefix such as 203.0.113.7 or 203.0.113.0/24.")
    return RdpOptions(repair=repair, guest_checks=bool(params.get("guest_checks")) or repair, check_mode=check_mode,
                      rdp_port=port, source_address=params["source_address"].strip(),
                      allow_disable_nla=bool(params.get("allow_disable_nla")), effective_rules=effective_rules,
                      run_tag=params.get("run_tag"), wait_timeout=params["wait_timeout"],
                      poll_interval=params["poll_interval"], max_workers=max_workers)


def _source_ok(value):
    if value.lower() in ("internet", "virtualnetwork", "*"):
        return True
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True
