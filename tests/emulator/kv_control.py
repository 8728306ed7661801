"""Control API for Key Vault, under /_emulator/keyvault/ (same key header as the rest of the control API).

Secret values come back only from GET .../secrets/{name}, which needs the control key; the control API
is never logged, so values never reach the request log.
"""

from __future__ import annotations

from aiohttp import web

from .errors import json_response
from .kv_fleet import add_assignment, add_secret_version, create_vault, vault_summary
from .kv_model import KV_DNS_SUFFIX, KV_RESOURCE, Vault

PREFIX = "/_emulator/keyvault"
NO_PROXY = "127.0.0.1,localhost"


def _not_found(what: str) -> web.Response:
    return json_response({"error": f"no {what}"}, status=404)


async def _json(request: web.Request) -> dict:
    data = await request.json() if request.can_read_body else {}
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _vault(request: web.Request) -> Vault | None:
    return request.app["store"].key_vaults.get(request.match_info["vault"])


def _version_state(version) -> dict:
    return {"version": version.version, "value": version.value, "content_type": version.content_type,
            "tags": version.tags, "enabled": version.enabled, "nbf": version.nbf, "exp": version.exp,
            "created": version.created, "updated": version.updated}


async def list_vaults(request: web.Request) -> web.Response:
    store = request.app["store"]
    return json_response({"dns_suffix": KV_DNS_SUFFIX, "resource": KV_RESOURCE,
                          "proxy_url": store.key_vaults.proxy_url,
                          "vaults": [vault_summary(v) for v in store.key_vaults.vaults.values()]})


async def add_vault(request: web.Request) -> web.Response:
    store = request.app["store"]
    vault = create_vault(store, await _json(request))
    return json_response(vault_summary(vault), status=201)


async def add_role_assignment(request: web.Request) -> web.Response:
    vault = _vault(request)
    if vault is None:
        return _not_found("such vault")
    assignment = add_assignment(request.app["store"], vault, await _json(request))
    return json_response({"principal_object_id": assignment.principal_object_id, "role": assignment.role,
                          "data_actions": assignment.data_actions}, status=201)


async def put_secret(request: web.Request) -> web.Response:
    vault = _vault(request)
    if vault is None:
        return _not_found("such vault")
    spec = {**await _json(request), "name": request.match_info["name"]}
    secret, version = add_secret_version(vault, spec)
    return json_response({"name": secret.name, "version": version.version,
                          "id": f"{vault.url}/secrets/{secret.name}/{version.version}"}, status=201)


async def get_secret(request: web.Request) -> web.Response:
    """Every version with its value, in creation order (the last is the latest)."""
    vault = _vault(request)
    secret = vault.secrets.get(request.match_info["name"].lower()) if vault else None
    if secret is None:
        return _not_found("such vault or secret")
    return json_response({"name": secret.name, "deleted": secret.deleted_at is not None,
                          "versions": [_version_state(v) for v in secret.versions.values()]})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{PREFIX}/vaults", list_vaults)
    r.add_post(f"{PREFIX}/vaults", add_vault)
    r.add_post(f"{PREFIX}/vaults/{{vault}}/role-assignments", add_role_assignment)
    r.add_put(f"{PREFIX}/vaults/{{vault}}/secrets/{{name}}", put_secret)
    r.add_get(f"{PREFIX}/vaults/{{vault}}/secrets/{{name}}", get_secret)


def env_entries(store) -> tuple[dict, dict]:
    """(env.sh variables, extra env.json keys) for Key Vault: vault URLs and the proxy that reaches them.

    Both proxy spellings are set because Python's urllib (so requests) prefers a lower-case variable when a
    shell already has one; NO_PROXY keeps ARM, Entra ID and the control API on 127.0.0.1 direct."""
    proxy = store.key_vaults.proxy_url or ""
    urls = {v.name: v.url for v in store.key_vaults.vaults.values()}
    first = next(iter(urls.values()), "")
    variables = {"AZURE_EMULATOR_KEY_VAULT_URL": first, "AZURE_EMULATOR_HTTPS_PROXY": proxy,
                 "HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": NO_PROXY, "no_proxy": NO_PROXY}
    info = {"key_vault_url": first or None, "key_vaults": urls, "key_vault_dns_suffix": KV_DNS_SUFFIX,
            "key_vault_resource": KV_RESOURCE, "https_proxy": proxy}
    return variables, info
