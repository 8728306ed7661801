"""Key Vault data plane for secrets, served on vault hosts (``<vault>.vault.azure-emulator.local``).

Requests reach it through the emulator's CONNECT proxy (proxy.py) or with such a Host header.
Checks run in Key Vault's order as a client sees it: the challenge (401) before anything else,
then api-version, route, secret name, RBAC (403), then the operation.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from aiohttp import web

from . import kv_errors as kv
from .errors import json_response
from .kv_model import KV_RESOURCE, SECRET_NAME_RE, Vault, vault_host_name
from .kv_ops import SecretOperations

SERVICE_VERSION = "1.9.2731.1"
SECRETS = "Microsoft.KeyVault/vaults/secrets/"
# operation -> the data action RBAC checks (Microsoft Learn "Actions and attributes for Azure Key Vault ABAC")
DATA_ACTIONS = {
    "set": SECRETS + "setSecret/action", "get": SECRETS + "getSecret/action", "update": SECRETS + "update/action",
    "list": SECRETS + "readMetadata/action", "versions": SECRETS + "readMetadata/action",
    "delete": SECRETS + "delete", "list_deleted": SECRETS + "readMetadata/action",
    "get_deleted": SECRETS + "readMetadata/action", "purge": SECRETS + "purge/action",
    "recover": SECRETS + "recover/action",
}


@dataclass
class Route:
    op: str
    name: str | None = None
    version: str = ""          # "" = the latest version


def _secrets_route(method: str, rest: list[str]) -> Route | None:
    if not rest or rest == [""]:
        return Route("list") if method == "GET" else None
    name, tail = rest[0], rest[1:]
    if not tail:
        return {"PUT": Route("set", name), "GET": Route("get", name), "PATCH": Route("update", name),
                "DELETE": Route("delete", name)}.get(method)
    if len(tail) == 1 and tail[0].lower() == "versions":
        return Route("versions", name) if method == "GET" else None
    if len(tail) == 1:
        return {"GET": Route("get", name, tail[0]), "PATCH": Route("update", name, tail[0])}.get(method)
    return None


def _deleted_route(method: str, rest: list[str]) -> Route | None:
    if not rest or rest == [""]:
        return Route("list_deleted") if method == "GET" else None
    name, tail = rest[0], [t.lower() for t in rest[1:]]
    if not tail:
        return {"GET": Route("get_deleted", name), "DELETE": Route("purge", name)}.get(method)
    if tail == ["recover"]:
        return Route("recover", name) if method == "POST" else None
    return None


def route(method: str, path: str) -> Route:
    """The operation for a method + path; 405 on a known path with another method, 404 otherwise."""
    segments = path.split("/")[1:]
    head = segments[0].lower() if segments else ""
    builders = {"secrets": _secrets_route, "deletedsecrets": _deleted_route}
    if head not in builders or len(segments) > 4:
        raise kv.not_found_route(path)
    found = builders[head](method, segments[1:])
    if found is None:
        raise kv.method_not_allowed(method)
    return found


class KeyVaultHandler:
    def __init__(self, store):
        self.store = store
        self.ops = SecretOperations(store)

    @staticmethod
    def log_info(request: web.Request) -> dict | None:
        """The request-log entry start for a vault host (the middleware logs and faults with it)."""
        name = vault_host_name(request.host)
        return {"kind": "keyvault", "vault": name} if name else None

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        vault = self.store.key_vaults.by_host(request.host)
        if vault is None:   # no such vault: behind the proxy this name would not even resolve
            return json_response({"error": {"code": "VaultNotFound", "message": "No vault answers at this host."}},
                                 status=404)
        try:
            response = await self._handle(request, vault)
        except kv.KvError as exc:
            response = exc.response()
        self._headers(request, response, vault)
        return response

    async def _handle(self, request: web.Request, vault: Vault) -> web.StreamResponse:
        principal = self._authenticate(request, vault)
        request["log"]["principal"] = principal.client_id
        api_version = self._api_version(request)
        found = route(request.method.upper(), request.path)
        if found.name is not None and not SECRET_NAME_RE.match(found.name):
            raise kv.invalid_name(found.name)
        self._authorize(vault, principal, found)
        return await getattr(self.ops, found.op)(request, vault, found, api_version)

    # --- checks ---------------------------------------------------------------------------------
    def _authenticate(self, request: web.Request, vault: Vault):
        store = self.store
        challenge = kv.challenge_header(store.base_url, vault.tenant)
        scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise kv.missing_token(challenge)
        token = store.tokens.get(value.strip())
        if token is None:
            raise kv.invalid_token(challenge)
        if token.expires_at <= time.time():
            raise kv.expired_token(challenge)
        if token.audience != KV_RESOURCE:
            raise kv.wrong_audience(token.audience, challenge)
        if token.principal.tenant.lower() != vault.tenant.lower():
            raise kv.wrong_issuer(self._issuer(vault.tenant), self._issuer(token.principal.tenant), challenge)
        return token.principal

    def _issuer(self, tenant: str) -> str:
        return f"{self.store.base_url}/{tenant}/"

    @staticmethod
    def _api_version(request: web.Request) -> str:
        value = request.query.get("api-version")
        if not value:
            raise kv.missing_api_version()
        if value not in kv.SUPPORTED_API_VERSIONS:
            raise kv.unknown_api_version(value)
        return value

    def _authorize(self, vault: Vault, principal, found: Route) -> None:
        action = DATA_ACTIONS[found.op]
        if vault.may(principal.object_id, action):
            return
        resource = vault.resource_id + (f"/secrets/{found.name}" if found.name else "")
        caller = f"appid={principal.client_id};oid={principal.object_id};iss={self._issuer(principal.tenant)}"
        raise kv.forbidden_by_rbac(caller, action, resource, vault.name, vault.location)

    @staticmethod
    def _headers(request: web.Request, response: web.StreamResponse, vault: Vault) -> None:
        """The headers recorded Key Vault answers carry (no ARM throttling headers: Key Vault has none)."""
        h = response.headers
        h["Cache-Control"] = "no-cache"
        h["Pragma"] = "no-cache"
        h["Expires"] = "-1"
        h["x-ms-keyvault-region"] = vault.location
        h["x-ms-request-id"] = str(uuid.uuid4())
        h["x-ms-keyvault-service-version"] = SERVICE_VERSION
        h["x-ms-keyvault-network-info"] = "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;"
        if "x-ms-client-request-id" in request.headers:
            h["x-ms-client-request-id"] = request.headers["x-ms-client-request-id"]
        h["X-Content-Type-Options"] = "nosniff"
        h["Strict-Transport-Security"] = "max-age=31536000;includeSubDomains"
