"""The secret operations behind each Key Vault route: set, get, update, list, versions, and
soft delete (delete, deleted reads, purge, recover). Values are returned only by set and get."""

from __future__ import annotations

import json
import time

from aiohttp import web

from . import kv_errors as kv
from . import kv_render as render
from .errors import json_response
from .kv_model import MAX_TAGS, MAX_VALUE_BYTES, Secret, SecretVersion, Vault, new_version_id

DELETE_S = 2.0          # simulated seconds a deletion takes (Key Vault deletes asynchronously; clients poll)
TAG_TEXT_MAX = 512


# --- request bodies -------------------------------------------------------------------------------

async def read_body(request: web.Request) -> dict:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise kv.bad_parameter("The request body is not valid JSON.") from None   # ours; never echoes the body
    if not isinstance(data, dict):
        raise kv.bad_parameter("The request body must be a JSON object.")
    return data


def parse_tags(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise kv.bad_parameter("Tags must be a map of strings to strings.")   # ours
    if len(value) > MAX_TAGS:
        raise kv.bad_parameter(f"The number of tags ({len(value)}) exceeds the maximum of {MAX_TAGS}.")   # ours
    if any(len(k) > TAG_TEXT_MAX or len(v) > TAG_TEXT_MAX for k, v in value.items()):
        raise kv.bad_parameter(f"Tag names and values are limited to {TAG_TEXT_MAX} characters.")   # ours
    return dict(value)


def parse_attributes(value) -> dict:
    """The writable attributes (enabled, nbf, exp); read-only ones (created, updated...) are ignored."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise kv.bad_parameter("The attributes must be a JSON object.")   # ours
    out = {}
    if value.get("enabled") is not None:
        if not isinstance(value["enabled"], bool):
            raise kv.bad_parameter("The attribute 'enabled' must be true or false.")   # ours
        out["enabled"] = value["enabled"]
    for key in ("nbf", "exp"):
        if key in value:
            if value[key] is not None and (isinstance(value[key], bool) or not isinstance(value[key], int)):
                raise kv.bad_parameter(f"The attribute '{key}' must be a number of seconds since 1970.")   # ours
            out[key] = value[key]
    return out


def parse_content_type(value) -> str | None:
    if value is not None and not isinstance(value, str):
        raise kv.bad_parameter("contentType must be a string.")   # ours
    return value


# --- the operations -----------------------------------------------------------------------------------

class SecretOperations:
    def __init__(self, store):
        self.store = store

    def _deleting(self, secret: Secret) -> bool:
        return secret.deleting_until is not None and self.store.clock.now() < secret.deleting_until

    def _live(self, vault: Vault, name: str) -> Secret:
        secret = vault.secrets.get(name.lower())
        if secret is None or secret.deleted_at is not None:
            raise kv.secret_not_found(name)
        return secret

    def _recoverable(self, vault: Vault, name: str) -> Secret:
        """A soft-deleted secret whose deletion has completed."""
        secret = vault.secrets.get(name.lower())
        if secret is None or secret.deleted_at is None or self._deleting(secret):
            raise kv.deleted_secret_not_found(name)
        return secret

    @staticmethod
    def _version(secret: Secret, name: str, version: str) -> SecretVersion:
        if not version:
            return secret.latest
        found = secret.version(version)
        if found is None:
            raise kv.secret_not_found(f"{name}/{version}")
        return found

    async def set(self, request, vault: Vault, found, api_version: str):
        body = await read_body(request)
        value = body.get("value")
        if not isinstance(value, str):
            raise kv.bad_parameter("The property 'value' is required and must be a string.")   # ours
        if len(value.encode()) > MAX_VALUE_BYTES:
            raise kv.bad_parameter(f"The secret value exceeds the maximum size of {MAX_VALUE_BYTES} bytes.")  # ours
        tags, content_type = parse_tags(body.get("tags")), parse_content_type(body.get("contentType"))
        attrs = parse_attributes(body.get("attributes"))
        secret = vault.secrets.get(found.name.lower())
        if secret is not None and secret.deleted_at is not None:
            raise kv.being_deleted(secret.name) if self._deleting(secret) else kv.deleted_but_recoverable(secret.name)
        if secret is None:
            secret = vault.secrets[found.name.lower()] = Secret(found.name)
        version = SecretVersion(new_version_id(), value, content_type, tags, enabled=attrs.get("enabled", True),
                                nbf=attrs.get("nbf"), exp=attrs.get("exp"))
        secret.versions[version.version] = version
        return json_response(render.bundle(vault, secret, version, with_value=True))

    async def get(self, request, vault: Vault, found, api_version: str):
        secret = self._live(vault, found.name)
        version = self._version(secret, found.name, found.version)
        if not version.enabled:
            raise kv.secret_disabled()
        now = time.time()   # exp / nbf enforced: the stricter of the docs and a report that they are not
        if version.exp is not None and version.exp <= now:
            raise kv.secret_expired()
        if version.nbf is not None and version.nbf > now:
            raise kv.secret_not_yet_valid()
        return json_response(render.bundle(vault, secret, version, with_value=True))

    async def update(self, request, vault: Vault, found, api_version: str):
        body = await read_body(request)
        secret = self._live(vault, found.name)
        version = self._version(secret, found.name, found.version)
        tags = parse_tags(body["tags"]) if "tags" in body else None
        content_type = parse_content_type(body.get("contentType"))
        attrs = parse_attributes(body.get("attributes"))
        if tags is not None:
            version.tags = tags
        if "contentType" in body:
            version.content_type = content_type
        for key, value in attrs.items():
            setattr(version, key, value)
        version.updated = int(time.time())
        return json_response(render.bundle(vault, secret, version, with_value=False))

    async def list(self, request, vault: Vault, found, api_version: str):
        items = [(s.name.lower(), render.item(vault, s)) for s in vault.secrets.values() if s.deleted_at is None]
        return json_response(render.page(request, vault, items, api_version))

    async def versions(self, request, vault: Vault, found, api_version: str):
        secret = self._live(vault, found.name)
        # listed in the order of their ids, as recorded traffic shows: not by creation time
        items = [(v.version, render.item(vault, secret, v)) for v in secret.versions.values()]
        return json_response(render.page(request, vault, items, api_version))

    async def delete(self, request, vault: Vault, found, api_version: str):
        secret = self._live(vault, found.name)
        secret.deleted_at = int(time.time())
        secret.deleting_until = self.store.clock.deadline(DELETE_S)
        return json_response(render.deleted(vault, secret, full=True))

    async def list_deleted(self, request, vault: Vault, found, api_version: str):
        items = [(s.name.lower(), render.deleted(vault, s, full=False)) for s in vault.secrets.values()
                 if s.deleted_at is not None and not self._deleting(s)]
        return json_response(render.page(request, vault, items, api_version))

    async def get_deleted(self, request, vault: Vault, found, api_version: str):
        return json_response(render.deleted(vault, self._recoverable(vault, found.name), full=True))

    async def purge(self, request, vault: Vault, found, api_version: str):
        secret = vault.secrets.get(found.name.lower())
        if secret is not None and secret.deleted_at is not None and self._deleting(secret):
            raise kv.being_deleted(secret.name)
        secret = self._recoverable(vault, found.name)
        del vault.secrets[secret.name.lower()]
        return web.Response(status=204)

    async def recover(self, request, vault: Vault, found, api_version: str):
        secret = self._recoverable(vault, found.name)
        secret.deleted_at = secret.deleting_until = None
        return json_response(render.bundle(vault, secret, secret.latest, with_value=False))
