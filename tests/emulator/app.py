"""aiohttp application assembly: routes, fault injection, ARM headers, request log."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web

from . import identity
from .arm import ArmHandler, parse_arm_path
from .control import ControlApi, require_key
from .errors import ArmError, json_response
from .keyvault import KeyVaultHandler
from .kv_control import add_routes as add_key_vault_control_routes
from .throttling import retry_headers


def _kind_for(path: str) -> str:
    if path.startswith("/metadata/") or "/.well-known/" in path:
        return "metadata"
    if path.startswith("/msi/") or "/oauth2/" in path:
        return "identity"
    return "other"


def _drop(request: web.Request) -> None:
    """Close the connection without an answer (the client sees a reset / EOF)."""
    transport = request.transport
    if transport is not None:
        transport.abort()


@web.middleware
async def emulator_middleware(request: web.Request, handler):
    path = request.path
    if path.startswith("/_emulator/"):
        return await handler(request)
    store = request.app["store"]
    request["extra_headers"] = {}
    key_vault = KeyVaultHandler.log_info(request)   # a vault host: Key Vault answers, whatever the path
    if key_vault is not None:
        request["log"], handler = key_vault, request.app["keyvault"]
    is_arm = key_vault is None and (path[:15].lower() == "/subscriptions/" or path.lower() == "/subscriptions")
    arm_path = parse_arm_path(path) if is_arm else None
    request["arm_path"] = arm_path
    rule = store.faults.match(request.method, path, arm_path.vm if arm_path else None) if store.faults.rules else None
    throttled = False
    if rule is not None:
        store.counters["fault_hits"] += 1
        if rule.delay_s:
            await asyncio.sleep(rule.delay_s)
    if rule is not None and rule.action == "drop_before":
        _log(store, request, 0, is_arm, arm_path, False)
        _drop(request)
        return web.Response(status=499)
    if rule is not None and rule.action == "status":
        headers = {}
        if rule.retry_after is not None:
            headers = retry_headers(rule.retry_after, time_scaled=True)
        if rule.body is None:
            response = json_response(rule.error_body(), status=rule.status, headers=headers)
        elif isinstance(rule.body, str):
            response = web.Response(text=rule.body, status=rule.status, headers=headers,
                                    content_type="application/json")
        else:
            response = json_response(rule.body, status=rule.status, headers=headers)
    else:
        if rule is not None and rule.action == "never_finish":
            request["never_finish"] = True
        try:
            response = await handler(request)
        except ArmError as exc:
            response = exc.response()
            throttled = exc.throttled
        except web.HTTPNotFound:
            response = json_response({"error": {"code": "NotFound", "message": f"No route for '{path}'."}},
                                     status=404)
        except web.HTTPMethodNotAllowed:
            response = json_response({"error": {"code": "MethodNotAllowed", "message":
                                                f"The requested resource does not support http method "
                                                f"'{request.method}'."}}, status=405)
    if is_arm:
        _arm_headers(request, response)
    _log(store, request, response.status, is_arm, arm_path, throttled)
    if rule is not None and rule.action == "drop_after":
        _drop(request)
    return response


def _arm_headers(request: web.Request, response: web.StreamResponse) -> None:
    request_id = str(uuid.uuid4())
    h = response.headers
    for key, value in request.get("extra_headers", {}).items():
        h.setdefault(key, value)
    h["x-ms-request-id"] = request_id
    h["x-ms-correlation-request-id"] = request.headers.get("x-ms-correlation-request-id") or request_id
    h["x-ms-routing-request-id"] = f"WESTEUROPE:{request_id[:8]}"
    if "x-ms-client-request-id" in request.headers:
        h["x-ms-client-request-id"] = request.headers["x-ms-client-request-id"]
    h.setdefault("Cache-Control", "no-cache")
    h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"


def _log(store, request: web.Request, status: int, is_arm: bool, arm_path, throttled: bool) -> None:
    info = request.get("log") or {}
    kind = info.get("kind") or ("read" if is_arm else _kind_for(request.path))
    store.log.record(request.method, request.path, request.query_string, status, info.get("principal"), kind,
                     info.get("subscription") or (arm_path.sub if arm_path else None),
                     info.get("vm") or (arm_path.vm if arm_path else None), throttled, info.get("vault"))


async def _not_found(request: web.Request):
    path = request.path
    if path[:14].lower() == "/subscriptions":
        return await request.app["arm"](request)
    return json_response({"error": {"code": "NotFound", "message": f"No route for '{path}'."}}, status=404)


def build_app(store, control_key: str, initial_fleet: dict | None = None) -> web.Application:
    app = web.Application(middlewares=[require_key, emulator_middleware], client_max_size=4 * 1024 * 1024)
    app["store"] = store
    app["control_key"] = control_key
    app["arm"] = ArmHandler(store)
    app["keyvault"] = KeyVaultHandler(store)
    ControlApi(store, initial_fleet).add_routes(app)
    identity.add_routes(app)
    add_key_vault_control_routes(app)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app
