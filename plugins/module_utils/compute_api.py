# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few Compute calls the collection makes, as REST-shaped dicts.

azure-mgmt-compute 39 replaced its model classes; asking the SDK for the raw JSON (``cls``)
and sending dict bodies keeps us independent of which model generation is installed.
Retries (429, 5xx, connection errors, Retry-After) are azure-core's RetryPolicy, configured
on the client; long-running operations use azure-core's ARM poller.

Single reads ask the SDK not to build its models at all where it can: azure-mgmt-compute 39
deserializes every response into model objects before handing it to ``cls``, and for a VM with
its instance view that first deserialization costs more CPU than the rest of a module run
(~0.2 s). Its reads take ``stream=True``, which skips it; earlier generations fix
``stream=False`` themselves (a second value would be a TypeError) and deserialize cheaply.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from urllib.parse import quote

try:
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.exceptions import ARMErrorFormat
except ImportError:  # reported by azure_auth.require_azure_sdk
    HttpRequest = None

from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import (
    VmAccessError,
    classify_azure_error,
)

# The VM list's api-version: it has statusOnly (per subscription) and $expand=instanceView (per
# resource group), which is all the listings need.
LIST_API_VERSION = "2024-07-01"


def _sdk_major_version():
    try:
        from azure.mgmt.compute import VERSION
        return int(VERSION.split(".")[0])
    except (ImportError, AttributeError, ValueError):
        return 0


# keyword arguments for a single GET that returns the REST document unparsed
_RAW_READ = {"stream": True} if _sdk_major_version() >= 39 else {}


def _raw_json(pipeline_response, deserialized, headers):
    response = pipeline_response.http_response
    if _RAW_READ:
        response.read()  # streamed: the body is still on the socket
    # text() exists on both the legacy transport responses (SDK <= 38) and azure.core.rest ones.
    return json.loads(response.text())


def rest_dict(model):
    """REST-shaped dict of an SDK model of any generation."""
    if model is None or isinstance(model, dict):
        return model
    if hasattr(model, "serialize"):  # msrest models (azure-mgmt-compute < 39)
        return model.serialize(keep_readonly=True)
    return model.as_dict()  # hybrid models (39+) are mappings over the REST document


class ComputeApi:
    """VM reads and VMAccess extension writes for one subscription."""

    def __init__(self, client, polling_interval=None, subscription_id=None):
        self.client = client
        self.polling_interval = polling_interval
        self.subscription_id = subscription_id

    def get_vm(self, ref):
        try:
            return self.client.virtual_machines.get(
                ref.resource_group, ref.name, expand="instanceView", cls=_raw_json, **_RAW_READ)
        except Exception as exc:  # every Azure failure becomes a reason code
            raise classify_azure_error(exc, operation="read the virtual machine", target=ref.id) from None

    def list_vms(self, resource_group=None):
        """Every VM of a resource group or subscription with its instance view, page by page.

        Per resource group ARM returns instance views with $expand; per subscription only with
        statusOnly. With azure-mgmt-compute 39 the pages are read as plain JSON through the
        client's own pipeline (credential, retries, user agent): its model deserialization of a
        list costs seven times or more the CPU of parsing it (~0.6 CPU-s per 1,000 VMs).
        """
        send = getattr(self.client, "send_request", None)
        if send is None or HttpRequest is None or not self.subscription_id:
            yield from self._list_vms_models(resource_group)  # older SDK generations: msrest models
            return
        base = "/subscriptions/%s" % quote(self.subscription_id, safe="")
        if resource_group:
            url = "%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines?api-version=%s" \
                  "&$expand=instanceView" % (base, quote(resource_group, safe=""), LIST_API_VERSION)
        else:
            url = "%s/providers/Microsoft.Compute/virtualMachines?api-version=%s&statusOnly=true" % (
                base, LIST_API_VERSION)
        target = resource_group or self.subscription_id
        while url:
            try:
                response = send(HttpRequest("GET", url))
                if response.status_code != 200:
                    raise HttpResponseError(response=response, error_format=ARMErrorFormat)
                page = response.json()
            except Exception as exc:
                raise classify_azure_error(exc, operation="list virtual machines", target=target) from None
            if not isinstance(page, dict) or not isinstance(page.get("value", []), list):
                raise VmAccessError("unexpected_response",
                                    "The virtual machine list of %s is not an ARM list document." % target)
            yield from page.get("value") or []
            url = page.get("nextLink")

    def _list_vms_models(self, resource_group):
        try:
            if resource_group:
                pages = self.client.virtual_machines.list(resource_group, expand="instanceView")
            else:
                pages = self.client.virtual_machines.list_all(status_only="true")
            for vm in pages:
                yield rest_dict(vm)
        except Exception as exc:
            raise classify_azure_error(exc, operation="list virtual machines", target=resource_group or "") from None

    def get_extension(self, ref, name):
        try:
            return self.client.virtual_machine_extensions.get(
                ref.resource_group, ref.name, name, expand="instanceView", cls=_raw_json, **_RAW_READ)
        except Exception as exc:
            raise classify_azure_error(exc, operation="read the VMAccess extension", target=ref.id) from None

    def begin_put_extension(self, ref, name, body, wait):
        """PUT the extension. Returns the poller (wait) or the accepted REST body (no wait)."""
        kwargs = {"cls": _raw_json}
        if not wait:
            kwargs["polling"] = False
        elif self.polling_interval is not None:
            kwargs["polling_interval"] = self.polling_interval
        try:
            poller = self.client.virtual_machine_extensions.begin_create_or_update(
                ref.resource_group, ref.name, name, body, **kwargs)
            # Without polling the "result" is the PUT's own response: the accepted extension.
            return poller if wait else poller.result()
        except Exception as exc:
            raise classify_azure_error(exc, operation="update the VMAccess extension", target=ref.id) from None


def wait_for_poller(poller, timeout, target):
    """Wait on a long-running operation for at most ``timeout`` seconds.

    Returns (finished, error): error is a VmAccessError when the operation reported a
    failure or the polling itself failed; the caller still reads the instance view,
    which is the truth about what ran in the guest.
    """
    try:
        poller.wait(timeout=timeout)
        if not poller.done():
            return False, None
        poller.result()
        return True, None
    except VmAccessError as exc:
        return True, exc
    except Exception as exc:
        return True, classify_azure_error(exc, operation="wait for the VMAccess extension", target=target)
