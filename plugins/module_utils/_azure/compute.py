# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Compute calls the collection makes, as REST-shaped dicts, through ComputeManagementClient.

azure-mgmt-compute 39 replaced its model classes; asking the SDK for the raw JSON (``cls``) and
sending dict bodies keeps us independent of which model generation is installed. Retries (429,
5xx, connection errors, Retry-After) are azure-core's RetryPolicy, configured on the client.

Single reads ask the SDK not to build its models where it can: azure-mgmt-compute 39
deserializes every response into model objects before handing it to ``cls`` (for a VM with its
instance view ~0.2 CPU-s); its reads take ``stream=True``, which skips that. Earlier generations
fix ``stream=False`` themselves and deserialize cheaply. VM lists go through the client's own
pipeline as plain JSON pages for the same reason.

A PUT's long-running operation is followed with azure-core's ARM polling algorithm
(``Operation``), one poll at a time, so that a caller can follow many operations at its own pace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from urllib.parse import quote

try:
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.exceptions import ARMErrorFormat
    from azure.mgmt.core.polling.arm_polling import ARMPolling
except ImportError:  # reported by session.require_azure_sdk
    HttpRequest = None

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.classify import classify_azure_error
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.headers import retry_after_s
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

# The VM list's api-version: it has statusOnly (per subscription), which is all listings need.
LIST_API_VERSION = "2024-07-01"
_TERMINAL = ("succeeded", "failed", "canceled", "cancelled")


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


def _accepted_document(accepted):
    """The body of an accepted PUT, or {} when it is not JSON: Azure took the write (2xx) all the same,
    so the run is followed and judged from what is read afterwards, never reported as not written."""
    try:
        document = json.loads(accepted.http_response.text() or "{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


class _Accepted:
    """A polling method that only keeps the first answer of a long-running call (azure-core's
    PollingMethod protocol): the caller follows the operation itself with ``Operation``."""

    def initialize(self, client, initial_response, deserialization_callback):
        self._response = initial_response

    def run(self):
        return None

    def status(self):
        return "Accepted"

    def finished(self):
        return True

    def resource(self):
        return self._response


class Listing:
    """The documents of a VM list and how many pages (requests) it took."""

    def __init__(self, docs, pages):
        self.docs = docs
        self.pages = pages


class Operation:
    """An accepted PUT's long-running operation, polled one step at a time (azure-core's ARMPolling)."""

    def __init__(self, client, initial_response, target):
        self.target = target
        self._polling = ARMPolling(timeout=0)
        self._polling.initialize(client._client, initial_response, lambda response: response)

    @property
    def status(self):
        return self._polling.status()

    @property
    def done(self):
        return (self.status or "").lower() in _TERMINAL

    def output(self):
        """The finished operation's result document: what its last poll carried
        (``properties.output``), else the final GET azure-core's algorithm names (a POST's Location)."""
        last = json.loads(self._polling._pipeline_response.http_response.text() or "{}")
        output = (last.get("properties") or {}).get("output") if isinstance(last, dict) else None
        if isinstance(output, dict):
            return output
        url = self._polling._operation.get_final_get_url(self._polling._pipeline_response)
        if not url:
            return {}
        try:
            response = self._polling.request_status(url)
            return json.loads(response.http_response.text() or "{}")
        except Exception as exc:
            raise classify_azure_error(exc, operation="read the result of the operation", target=self.target) from None

    @property
    def retry_after_s(self):
        """Azure's own polling hint, if the last answer gave one (real Azure usually does not)."""
        return retry_after_s(self._polling._pipeline_response.http_response.headers)

    def poll(self):
        """One status request; returns the status ('InProgress', 'Succeeded', 'Failed', ...)."""
        try:
            self._polling.update_status()
        except Exception as exc:  # a poll that fails is reported with a reason code, never raised raw
            response = getattr(self._polling, "_pipeline_response", None)
            if not isinstance(exc, HttpResponseError) and response is not None:
                exc = HttpResponseError(response=response.http_response, error_format=ARMErrorFormat)
            raise classify_azure_error(exc, operation="follow the VMAccess operation", target=self.target) from None
        return self.status

    def error(self):
        """The operation's own error (code and message) when it ended Failed or Canceled, else None."""
        if not self.done or self.status.lower() == "succeeded":
            return None
        failure = HttpResponseError(response=self._polling._pipeline_response.http_response,
                                    error_format=ARMErrorFormat)
        return classify_azure_error(failure, operation="update the VMAccess extension", target=self.target)


class ComputeApi:
    """VM reads and VMAccess extension writes for one subscription."""

    def __init__(self, client, subscription_id, base_url):
        self.client = client
        self.subscription_id = subscription_id
        self.base_url = base_url.rstrip("/")  # the cloud's Resource Manager endpoint

    def get_vm(self, ref):
        try:
            return self.client.virtual_machines.get(
                ref.resource_group, ref.name, expand="instanceView", cls=_raw_json, **_RAW_READ)
        except Exception as exc:  # every Azure failure becomes a reason code
            raise classify_azure_error(exc, operation="read the virtual machine", target=ref.id) from None

    def list_vms(self, resource_group=None, status_only=False, before_page=None):
        """Every VM of a resource group or the subscription, as a Listing.

        A plain list carries the model with extensions as bare ids; ``status_only`` (per
        subscription only) carries the instance views without the model. ``before_page()`` runs
        before each page is requested (the caller's read pacing).
        """
        base = "/subscriptions/%s" % quote(self.subscription_id, safe="")
        if resource_group:
            url = "%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines?api-version=%s" % (
                base, quote(resource_group, safe=""), LIST_API_VERSION)
        else:
            url = "%s/providers/Microsoft.Compute/virtualMachines?api-version=%s%s" % (
                base, LIST_API_VERSION, "&statusOnly=true" if status_only else "")
        docs, pages = [], 0
        while url:
            if before_page is not None:
                before_page()
            page = self.get(url, operation="list virtual machines", target=resource_group or self.subscription_id)
            if not isinstance(page.get("value", []), list):
                raise VmAccessError("unexpected_response", "The virtual machine list of %s is not an ARM list document."
                                    % (resource_group or self.subscription_id))
            pages += 1
            docs.extend(page.get("value") or [])
            url = page.get("nextLink")
        return Listing(docs, pages)

    # -- plain ARM requests through the client's own pipeline (credential, retries, user agent) ----
    def _absolute(self, url):
        """An ARM path made absolute on the cloud's endpoint (absolute URLs, e.g. nextLinks, stay as they are)."""
        return self.base_url + url if url.startswith("/") else url

    def get(self, url, operation, target=""):
        """GET an ARM URL (path or absolute) and return its JSON object."""
        try:
            response = self.client._client.send_request(HttpRequest("GET", self._absolute(url)))
            if response.status_code != 200:
                raise HttpResponseError(response=response, error_format=ARMErrorFormat)
            document = response.json()
        except Exception as exc:
            raise classify_azure_error(exc, operation=operation, target=target) from None
        if not isinstance(document, dict):
            raise VmAccessError("unexpected_response", "Azure's answer to %s %s is not a JSON object."
                                % (operation, target))
        return document

    def begin_post(self, url, operation, target="", body=None):
        """POST an ARM action that runs as a long-running operation; returns its Operation."""
        try:
            pipeline_response = self.client._client.send_request(
                HttpRequest("POST", self._absolute(url), json=body if body is not None else {}),
                _return_pipeline_response=True)
            status = pipeline_response.http_response.status_code
            if status not in (200, 201, 202):
                raise HttpResponseError(response=pipeline_response.http_response, error_format=ARMErrorFormat)
            return Operation(self.client, pipeline_response, target)
        except Exception as exc:
            raise classify_azure_error(exc, operation=operation, target=target) from None

    def list_extensions(self, ref):
        try:
            page = self.client.virtual_machine_extensions.list(
                ref.resource_group, ref.name, expand="instanceView", cls=_raw_json, **_RAW_READ)
        except Exception as exc:
            raise classify_azure_error(exc, operation="list the VM's extensions", target=ref.id) from None
        return (page or {}).get("value") or []

    def get_extension(self, ref, name):
        try:
            return self.client.virtual_machine_extensions.get(
                ref.resource_group, ref.name, name, expand="instanceView", cls=_raw_json, **_RAW_READ)
        except Exception as exc:
            raise classify_azure_error(exc, operation="read the VMAccess extension", target=ref.id) from None

    def put_extension(self, ref, name, body):
        """PUT the extension; returns (the accepted document, its Operation), or (the document, a VmAccessError)
        when Azure accepted the write but its answer names no operation to follow (follow the extension then)."""
        try:
            accepted = self.client.virtual_machine_extensions.begin_create_or_update(
                ref.resource_group, ref.name, name, body, polling=_Accepted()).result()
        except Exception as exc:
            raise classify_azure_error(exc, operation="update the VMAccess extension", target=ref.id) from None
        try:
            operation = Operation(self.client, accepted, ref.id)
        except Exception as exc:
            operation = classify_azure_error(exc, operation="follow the VMAccess operation", target=ref.id)
        return _accepted_document(accepted), operation

    def run_command(self, ref, command_id, script=None, parameters=None):
        """Start a Run Command on the VM (one script at a time per VM); returns its Operation."""
        body = {"commandId": command_id}
        if script is not None:
            body["script"] = list(script)
        if parameters:
            body["parameters"] = [{"name": k, "value": v} for k, v in sorted(parameters.items())]
        try:
            accepted = self.client.virtual_machines.begin_run_command(
                ref.resource_group, ref.name, body, polling=_Accepted()).result()
            return Operation(self.client, accepted, ref.id)
        except Exception as exc:
            raise classify_azure_error(exc, operation="run the command %s on" % command_id, target=ref.id) from None
