"""ARM error bodies, raised as exceptions anywhere and rendered once by the app middleware.

Shape: ``{"error": {"code", "message", "target"?, "details"?, "innererror"?}}``.
Only the 400 ``MultipleExtensionsPerHandlerNotAllowed`` carries ``innererror.internalErrorCode``, as
Microsoft's VMAccess docs print it; 409 bodies never do (facts §8.3) unless lenient mode is on.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


class ArmError(Exception):
    """An error answer in ARM's shape; status + code + message (+ optional extras)."""

    def __init__(self, status: int, code: str, message: str, *, target: str | None = None,
                 details: list | None = None, internal_code: str | None = None,
                 headers: dict | None = None, throttled: bool = False):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.internal_code = internal_code
        self.headers = dict(headers or {})
        self.throttled = throttled

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        if self.details is not None:
            error["details"] = self.details
        if self.internal_code:
            error["innererror"] = {"internalErrorCode": self.internal_code}
        return {"error": error}

    def response(self) -> web.Response:
        return json_response(self.body(), status=self.status, headers=self.headers)


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=json.dumps(data, separators=(",", ":")).encode(), status=status,
                        headers=headers, content_type="application/json", charset="utf-8")


# --- the ARM errors the emulator raises, with Azure's codes and messages -----------------

def missing_api_version() -> ArmError:
    return ArmError(400, "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.")


def invalid_api_version(value: str) -> ArmError:
    return ArmError(400, "InvalidApiVersionParameter",
                    f"The api-version '{value}' is invalid. The supported versions are '2026-04-01,2025-04-01,"
                    "2024-11-01,2024-07-01,2024-03-01,2023-09-01,2023-03-01,2022-11-01,2022-08-01,2021-11-01'.")


def subscription_not_found(sub: str) -> ArmError:
    return ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")


def resource_group_not_found(rg: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")


def resource_not_found(resource_type: str, name: str, rg: str) -> ArmError:
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{resource_type}/{name}' under resource group '{rg}' was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix")


def authorization_failed(object_id: str, action: str, scope: str) -> ArmError:
    return ArmError(403, "AuthorizationFailed",
                    f"The client '{object_id}' with object id '{object_id}' does not have authorization to "
                    f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
                    "recently granted, please refresh your credentials.")


def invalid_request_content(reason: str) -> ArmError:
    return ArmError(400, "InvalidRequestContent",
                    f"The request content was invalid and could not be deserialized: '{reason}'.")


def invalid_parameter(target: str, message: str) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


def invalid_url_parameter(target: str) -> ArmError:
    """Compute's answer to a query option it does not take (azure-rest-api-specs#9130, azure-cli#62)."""
    return ArmError(400, "InvalidParameter", "The request URL is not valid.", target=target)


def expand_needs_filter() -> ArmError:
    return ArmError(400, "InvalidParameter",
                    "The $expand=instanceView option can only be specified if a valid $filter option is specified.",
                    target="$expand")


def invalid_filter(value: str) -> ArmError:
    return ArmError(400, "InvalidParameter",
                    f"The $filter '{value}' is not valid. The allowed value is 'virtualMachineScaleSet/id' eq "
                    "'/subscriptions/{subId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/"
                    "virtualMachineScaleSets/{vmssName}'.", target="$filter")
