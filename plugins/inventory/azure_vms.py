# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: azure_vms
short_description: Azure virtual machines as hosts, from two paged list passes per subscription
version_added: 0.1.0
description:
  - Every virtual machine of one or more Azure subscriptions becomes a host, with its OS type, power state, VM agent
    status, administrator name, tags and VMAccess extension state as host variables, grouped by OS (V(windows),
    V(linux)), power state and location. C(keyed_groups), C(groups) and C(compose) add your own groups and variables.
  - Made for inventory-wide remediation with M(azure_ops.vm_access.vm_access_reset) - tasks run delegated to
    C(localhost); the VMs themselves are never contacted.
  - Reads with list calls only, never one call per VM - per subscription, the paged C(virtualMachines) list (what
    each VM is; per resource group with O(include_resource_groups)) and the paged C(statusOnly) list (how each VM
    is - power and agent state, each extension's last status; Azure gives instance views in lists only that way,
    for a whole subscription), merged by VM id. Retries on throttling (HTTP 429, honouring C(Retry-After)) and on
    transient errors are azure-core's, configured as for the modules.
  - Needs only C(azure-identity) and C(azure-mgmt-compute), and the same authentication options and environment
    variables as the modules.
  - The configuration file name must end in C(azure_vms.yml) or C(azure_vms.yaml).
author:
  - azure_ops.vm_access contributors (@azure-ops)
options:
  plugin:
    description: The name of this plugin; marks the file as one of its configuration files.
    required: true
    type: str
    choices: [azure_ops.vm_access.azure_vms]
  subscriptions:
    description:
      - Subscription ids to list. Their hosts are merged into one inventory.
      - Empty (the default) lists the subscription of the authentication - O(subscription_id), else
        E(AZURE_SUBSCRIPTION_ID), else the credentials-file profile (or the Azure CLI's default subscription).
      - One principal and one token serve every subscription; it needs C(Microsoft.Compute/virtualMachines/read)
        on each (the C(Reader) role is enough for the inventory).
      - If any subscription cannot be read, the whole inventory fails - never a partial host list.
    type: list
    elements: str
    default: []
  include_resource_groups:
    description:
      - Only VMs of these resource groups. Names compare case-insensitively; shell-style wildcards (C(*), C(?),
        C([...])) are allowed.
      - With plain names only, each group's plain list is read on its own (one paged list per group and
        subscription) instead of the whole subscription's; the C(statusOnly) pass is always per subscription (Azure
        has no per-group form of it), so its cost is that of the whole subscription, filtered here. A group
        missing from some of the subscriptions is skipped there; a group found in none of them is an error.
      - Empty (the default) means every resource group.
    type: list
    elements: str
    default: []
  exclude_resource_groups:
    description:
      - Leave out VMs of these resource groups (case-insensitive, wildcards allowed). Applied after
        O(include_resource_groups).
    type: list
    elements: str
    default: []
  include_tags:
    description:
      - Only VMs that carry B(all) of these tags.
      - A mapping of tag name to value, to a list of accepted values, or to V(null) for "any value"; or a list of
        V(name) / V(name=value) strings.
      - Tag names compare case-insensitively (as in Azure), values exactly.
    type: raw
  exclude_tags:
    description:
      - Leave out VMs that carry B(any) of these tags. Same forms as O(include_tags).
    type: raw
  os_type:
    description:
      - Only VMs with this OS - V(Windows), V(Linux), or V(all) (the default).
      - The default groups V(windows) and V(linux) are built either way.
    type: str
    choices: [all, Windows, Linux]
    default: all
  power_states:
    description:
      - Only VMs in these power states - V(starting), V(running), V(stopping), V(stopped), V(deallocating),
        V(deallocated), V(unknown) (no power state reported).
      - Defaults to V(running) only, since VMAccess can only run on a running VM. Use V([all]) for every VM.
    type: list
    elements: str
    choices: [all, starting, running, stopping, stopped, deallocating, deallocated, unknown]
    default: [running]
  include_vm_names:
    description:
      - Only VMs whose name matches one of these shell-style patterns (case-insensitive), for example V(web-*).
    type: list
    elements: str
    default: []
  exclude_vm_names:
    description:
      - Leave out VMs whose name matches one of these shell-style patterns (case-insensitive).
    type: list
    elements: str
    default: []
  hostnames:
    description:
      - How hosts are named. The first entry that gives a non-empty value for a VM wins.
      - V(name) (the default) - the VM name; V(id) - the full ARM id; V(computer_name) - the guest's computer name
        (from the instance view, else the OS profile); V(vm_uuid) - the VM's unique id.
      - Any other entry is a Jinja2 expression over the host variables, for example
        V(vm_name ~ '.' ~ resource_group | lower).
      - VM names are only unique within a resource group; see O(hostname_collisions).
    type: list
    elements: str
    default: [name]
  hostname_collisions:
    description:
      - What to do when several VMs get the same host name (compared case-insensitively).
      - V(qualify) (the default) - every one of them becomes V(<name>.<resource group>), lower case, and if that is
        still shared, V(<name>.<resource group>.<subscription id>); the same names on every run, with a warning that
        lists them.
      - V(error) - fail the inventory.
    type: str
    choices: [qualify, error]
    default: qualify
  default_groups:
    description:
      - Build the default groups - V(windows) / V(linux), V(power_<state>) (for example V(power_running),
        V(power_deallocated)) and V(location_<region>) (for example V(location_westeurope)).
    type: bool
    default: true
  azure_rm_aliases:
    description:
      - Also set the host variables under the names azure.azcollection's C(azure_rm) inventory uses - C(id),
        C(name), C(tags), C(powerstate), C(os_disk.operating_system_type), C(os_profile.system),
        C(virtual_machine_size) and C(vmid) - so roles and playbooks written for azure_rm work unchanged.
      - Off by default - ansible-core 2.19 and later warn on every run that C(name) and C(tags) are reserved names
        (as they do with azure_rm). C(vm_name), C(vm_tags), C(vm_id) and the other own names are always set, and
        the fleet path reads either flavour.
    type: bool
    default: false
extends_documentation_fragment:
  - azure_ops.vm_access.azure_auth
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
notes:
  - "Host variables (set on every host):
    C(vm_id) (full ARM id, what M(azure_ops.vm_access.vm_access_reset) takes as O(azure_ops.vm_access.vm_access_reset#module:vm_id)),
    C(vm_name), C(resource_group) (as Azure spells it), C(subscription_id), C(location),
    C(os_type) (V(Windows) or V(Linux)),
    C(power_state) (V(running), V(deallocated), ...; null if none is reported), C(provisioning_state),
    C(agent_status) (V(Ready), V(Not Ready), or null), C(agent_version), C(admin_username), C(computer_name),
    C(vm_size), C(vm_uuid), C(vm_tags), C(image) (publisher, offer, sku, version, or id),
    C(network_interface_ids), and C(vmaccess) - the VMAccessAgent instance as the lists show it (C(name), C(type),
    C(running_version), C(provisioning_state), C(status_code), C(status_message), C(status_time),
    C(last_run_succeeded)) or null. Lists carry no extension settings or reset fingerprint (use
    M(azure_ops.vm_access.vm_access_info) with O(azure_ops.vm_access.vm_access_info#module:read_fingerprints=true)
    for those)."
  - "azure.azcollection.azure_rm-compatible aliases (see O(azure_rm_aliases)): C(id), C(name), C(tags), C(powerstate),
    C(os_disk.operating_system_type) and C(os_profile.system) (lower case, V(windows) / V(linux)),
    C(virtual_machine_size), C(vmid). Unlike azure_rm, C(resource_group) keeps Azure's spelling instead of being
    lower-cased."
  - No IP address variables and no C(ansible_host) - a VM document names its network interfaces
    (C(network_interface_ids)) but not their addresses, and reading them would cost one more call per interface.
    The plugin is for API-side remediation, where tasks are delegated to C(localhost). Set C(ansible_host)
    with C(compose) if you have a naming convention (for example a DNS zone).
  - The authentication options may be Jinja2 templates (for example a C(lookup)). The plugin never prints them and
    never writes them to the cache, whose content is the host variables above.
  - With O(cache), the cached data is the host list before filters, for the same subscriptions, resource groups,
    principal and cloud; changing a filter, group or host-name option does not need a refresh. Changing the
    subscriptions, O(include_resource_groups) or the credentials makes a new listing.
  - Errors name a reason code (for example V(authentication_failed), V(missing_subscription),
    V(authorization_failed), V(subscription_not_found)); run with C(-vvv) for details.
seealso:
  - module: azure_ops.vm_access.vm_access_reset
  - module: azure_ops.vm_access.vm_access_info
  - name: Virtual Machines - List All (statusOnly)
    description: The list calls the plugin makes per subscription.
    link: https://learn.microsoft.com/rest/api/compute/virtual-machines/list-all
"""

EXAMPLES = r"""
# inventory/prod.azure_vms.yml - every running Windows and Linux VM of the default subscription
plugin: azure_ops.vm_access.azure_vms

---
# inventory/fleet.azure_vms.yml - Windows VMs of two subscriptions, web tier only, cached for 10 minutes
plugin: azure_ops.vm_access.azure_vms
subscriptions:
  - 6f1c2a3e-4b5d-4c7e-9f80-1a2b3c4d5e6f
  - 0b8e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b
os_type: Windows
include_resource_groups: [rg-web, rg-app]
exclude_tags:
  remediation: skip
power_states: [running, deallocated]
keyed_groups:
  - key: vm_tags.env | default('none')
    prefix: env
  - key: resource_group | lower
    prefix: rg
groups:
  rdp_reset_candidates: vmaccess is none or not vmaccess.last_run_succeeded
compose:
  ansible_host: computer_name ~ '.corp.example.com'
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/azure_vms
cache_timeout: 600

---
# Then: ansible-playbook -i inventory/fleet.azure_vms.yml playbooks/reset_rdp.yml
# where each task runs with delegate_to: localhost and vm_id: "{{ vm_id }}".
"""

import os
from concurrent.futures import ThreadPoolExecutor

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.listing import (
    merged_documents,
    model_pass,
    status_pass,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.session import AzureSession
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.settings import AZURE_AUTH_ARGSPEC, resolve_auth
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.masking import mask_secrets
from ansible_collections.azure_ops.vm_access.plugins.module_utils._glue.inventory_hosts import (
    HOSTNAME_KEYS,
    HostFilter,
    assign_hostnames,
    deduplicate,
    default_groups,
    exposed_vars,
    host_vars,
    hostname_candidate,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError, secret_spellings

CACHE_FORMAT = 2  # 2: lists merged from plain + statusOnly passes
# Listings (subscription, or resource group) read at the same time; pages of one listing are
# sequential (each page's nextLink comes from the previous one).
MAX_PARALLEL_LISTINGS = 4
SECRET_OPTIONS = ("secret", "certificate_password")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "azure_ops.vm_access.azure_vms"

    def __init__(self):
        super(InventoryModule, self).__init__()
        self._secrets = []

    # ------------------------------------------------------------------ entry points

    def verify_file(self, path):
        if super(InventoryModule, self).verify_file(path):
            return path.endswith(("azure_vms.yml", "azure_vms.yaml"))
        return False

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            host_filter = HostFilter.from_options(dict(
                (name, self.get_option(name)) for name in (
                    "include_resource_groups", "exclude_resource_groups", "include_tags", "exclude_tags",
                    "os_type", "power_states", "include_vm_names", "exclude_vm_names")))
            auth_params = self._auth_params()
            subscriptions = self._subscription_option()
            records = self._records(path, cache, auth_params, subscriptions, host_filter)
        except VmAccessError as error:
            raise self._error(error) from None
        except AnsibleError:
            raise
        except Exception as exc:  # a reason code and no traceback, whatever happened
            raise self._error(VmAccessError(
                "unexpected_error", "Unexpected %s: %s" % (type(exc).__name__, exc))) from None
        self._populate(records, host_filter)

    # ------------------------------------------------------------------ options

    def _auth_params(self):
        params = {}
        for name in AZURE_AUTH_ARGSPEC:
            value = self.get_option(name)
            if isinstance(value, str) and "{{" in value:
                try:
                    value = self.templar.template(value)
                except Exception as exc:  # never echo the template's value: it may be a secret
                    raise AnsibleParserError(
                        "azure_vms [invalid_argument]: cannot template the option %s (%s)."
                        % (name, type(exc).__name__)) from None
            if name in SECRET_OPTIONS and value:
                self._secrets.append(str(value))
            params[name] = value
        return params

    def _subscription_option(self):
        subs = self.get_option("subscriptions") or []
        cleaned = []
        for sub in subs:
            sub = str(sub or "").strip()
            if not sub:
                raise VmAccessError("invalid_argument", "subscriptions must not contain empty entries.")
            if sub.lower() not in [c.lower() for c in cleaned]:
                cleaned.append(sub)
        return cleaned

    def _error(self, error):
        return AnsibleParserError("azure_vms [%s]: %s" % (error.reason, mask_secrets(error.message, secret_spellings(self._secrets))))

    # ------------------------------------------------------------------ data

    def _scope(self, settings, subscriptions, listing_groups):
        """What a cached listing covers: reused only for the very same scope."""
        return {
            "format": CACHE_FORMAT,
            "subscriptions": sorted(s.lower() for s in subscriptions),
            "resource_groups": listing_groups,
            "client_id": settings.client_id,
            "tenant": settings.tenant,
            "auth_method": settings.method,
            "cloud_environment": settings.cloud_environment,
        }

    def _records(self, path, cache, auth_params, subscriptions, host_filter):
        if subscriptions and not auth_params.get("subscription_id"):
            # The subscriptions are explicit: the auth subscription is only a default.
            auth_params = dict(auth_params, subscription_id=subscriptions[0])
        settings = resolve_auth(auth_params, os.environ)
        subscriptions = subscriptions or [settings.subscription_id]
        listing_groups = host_filter.listing_groups()
        scope = self._scope(settings, subscriptions, listing_groups)

        use_cache = bool(self.get_option("cache"))
        cache_key = self.get_cache_key(path)
        if use_cache and cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            if isinstance(cached, dict) and cached.get("scope") == scope and isinstance(cached.get("vms"), list):
                self.display.vvv("azure_vms: %d VMs from the cache (%s)" % (len(cached["vms"]), cache_key))
                return cached["vms"]
        records = self._list(auth_params, subscriptions, listing_groups)
        if use_cache:
            self._cache[cache_key] = {"scope": scope, "vms": records}
        return records

    def _list(self, auth_params, subscriptions, listing_groups):
        session = AzureSession(auth_params, os.environ)
        session.check_token()  # one token for every listing, and a clear error before any of them

        def run(sub):
            try:
                api = session.api(sub)
                models, failures = model_pass(api, listing_groups)
                for group, error in failures.items():
                    if error.reason != "resource_group_not_found":
                        raise error
                statuses = status_pass(api)[0] if models else {}
                return merged_documents(models, statuses), failures
            except VmAccessError as error:
                raise VmAccessError(error.reason, "subscription %s: %s" % (sub, error.message), **error.details) from None

        workers = max(1, min(MAX_PARALLEL_LISTINGS, len(subscriptions)))
        if workers == 1:
            outcomes = [run(sub) for sub in subscriptions]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(pool.map(run, subscriptions))  # re-raises the first failure, in order

        missing = {}
        records = []
        for sub, (docs, failures) in zip(subscriptions, outcomes):
            for group in failures:
                missing.setdefault(group, []).append(sub)
            for doc in docs:
                try:
                    records.append(host_vars(doc))
                except VmAccessError as exc:
                    self.display.warning("azure_vms: skipped a VM document (%s): %s" % (exc.reason, exc.message))
            self.display.vvv("azure_vms: %d VMs in subscription %s" % (len(docs), sub))
        for rg, subs in sorted(missing.items()):
            if len(subs) == len(subscriptions):
                raise VmAccessError(
                    "resource_group_not_found",
                    "The resource group %s (include_resource_groups) exists in none of the subscriptions %s."
                    % (rg, ", ".join(subscriptions)))
            self.display.vvv("azure_vms: resource group %s is not in subscription(s) %s" % (rg, ", ".join(subs)))
        return deduplicate(records)

    # ------------------------------------------------------------------ inventory

    def _hostname(self, hv, preferences):
        for preference in preferences:
            if preference in HOSTNAME_KEYS:
                value = hostname_candidate(hv, preference)
            else:
                try:
                    value = self._compose(preference, hv)
                except Exception as exc:
                    if self.get_option("strict"):
                        raise AnsibleParserError(
                            "azure_vms [invalid_argument]: hostnames entry %r failed for VM %s: %s"
                            % (preference, hv.get("vm_id"), exc)) from None
                    value = None
            if value not in (None, ""):
                return str(value)
        return None

    def _populate(self, records, host_filter):
        preferences = self.get_option("hostnames") or ["name"]
        strict = self.get_option("strict")
        aliases = self.get_option("azure_rm_aliases")
        # Everything Azure returned is data, never a template (a VM tag must not run a lookup on the
        # controller): ansible-core 2.19 does not trust inventory strings anyway; before it, wrap_var says so.
        kept = [wrap_var(exposed_vars(hv, aliases)) for hv in records if host_filter.keeps(hv)]
        self.display.vvv("azure_vms: %d of %d VMs pass the filters" % (len(kept), len(records)))
        candidates = []
        for hv in kept:
            name = self._hostname(hv, preferences)
            if name is None:
                self.display.warning("azure_vms: no host name for VM %s from hostnames %s; skipped."
                                     % (hv.get("vm_id"), preferences))
                continue
            candidates.append((hv["vm_id"], name, hv))
        try:
            names, renamed = assign_hostnames(candidates, self.get_option("hostname_collisions"))
        except VmAccessError as error:
            raise self._error(error) from None
        if renamed:
            self.display.warning("azure_vms: %d VMs share host names with another VM and were qualified: %s"
                                 % (len(renamed), ", ".join(renamed[:20]) + (", ..." if len(renamed) > 20 else "")))

        build_default_groups = self.get_option("default_groups")
        for vm_id, _wanted, hv in candidates:
            host = names[vm_id]
            self.inventory.add_host(host)
            for key, value in hv.items():
                self.inventory.set_variable(host, key, value)
            if build_default_groups:
                for group in default_groups(hv):
                    self.inventory.add_group(group)
                    self.inventory.add_child(group, host)
            self._set_composite_vars(self.get_option("compose"), hv, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hv, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hv, host, strict=strict)
