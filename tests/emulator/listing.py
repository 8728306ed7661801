"""VM lists per resource group and per subscription: query options, paging (shared with Network's NIC
lists) and item shapes.

Strict rules (facts §8.1, REST reference VirtualMachines_List / _ListAll):
- items carry the model with ``resources[]`` as bare extension ids, and no instance view;
- ``$expand=instanceView`` needs a valid ``$filter`` (the only documented one names a scale set,
  and there are no scale sets here, so such a list is empty); without one it is a 400;
- ``statusOnly=true`` (per subscription) gives the instance view without the model; on a
  resource-group list, where it is not documented, it is ignored like any unknown query option.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from . import errors
from .errors import ArmError
from .model import VM

VMSS_FILTER = re.compile(
    r"^\s*'?virtualMachineScaleSet/id'?\s+eq\s+'?(/subscriptions/[^/'\s]+/resourceGroups/[^/'\s]+"
    r"/providers/Microsoft\.Compute/virtualMachineScaleSets/[^/'\s]+)'?\s*$", re.IGNORECASE)
NOT_CARRIED_TO_NEXT_PAGE = ("api-version", "$skiptoken")


@dataclass
class ListQuery:
    status_only: bool = False
    instance_view: bool = False
    scale_set: str | None = None         # the scale set a valid $filter names


def parse_list_query(query, *, per_subscription: bool, lenient: bool) -> ListQuery:
    parsed = ListQuery()
    raw_filter = query.get("$filter")
    if raw_filter is not None:
        match = VMSS_FILTER.match(raw_filter)
        if match:
            parsed.scale_set = match.group(1)
        elif not lenient:
            raise errors.invalid_filter(raw_filter)
    expand = query.get("$expand")
    if expand is not None:
        if expand.lower() != "instanceview":
            raise errors.invalid_url_parameter("$expand")
        if parsed.scale_set is None and not lenient:
            raise errors.expand_needs_filter()
        parsed.instance_view = True
    wants_status = (query.get("statusOnly") or "").lower() == "true"
    parsed.status_only = wants_status and (per_subscription or lenient)
    return parsed


def _offset(token: str | None) -> int:
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise ArmError(400, "InvalidSkipToken", f"The skip token '{token}' is invalid.") from None


def _next_link(base_url: str, request, api_version: str, offset: int) -> str:
    kept = [(k, v) for k, v in request.query.items() if k.lower() not in NOT_CARRIED_TO_NEXT_PAGE]
    skip = base64.urlsafe_b64encode(str(offset).encode()).decode()
    query = urlencode([("api-version", api_version), *kept, ("$skiptoken", skip)], quote_via=quote, safe="$/")
    return f"{base_url}{request.path}?{query}"


def page(store, request, items: list, render, api_version: str) -> dict:
    """One page of ``items`` (``config.page_size`` of them, each through ``render``) and, while more are
    left, the ``nextLink`` to the next one (the request's query with a ``$skiptoken``)."""
    offset = _offset(request.query.get("$skiptoken"))
    size = store.config.page_size
    body: dict = {"value": [render(item) for item in items[offset:offset + size]]}
    if offset + size < len(items):
        body["nextLink"] = _next_link(store.base_url, request, api_version, offset + size)
    return body


def list_page(store, request, vms: list[VM], query: ListQuery, api_version: str) -> dict:
    """One page of VMs in the shape the query asks for."""
    if query.scale_set is not None:
        vms = []                          # no VM here belongs to a scale set
    render, lenient = store.render, store.config.lenient
    if query.status_only and not lenient:
        return page(store, request, vms, render.vm_status_only, api_version)
    with_view = query.instance_view or query.status_only
    return page(store, request, vms, lambda vm: render.vm(vm, instance_view=with_view, in_list=not lenient),
                api_version)
