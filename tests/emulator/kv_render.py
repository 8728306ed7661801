"""Key Vault JSON shapes (SecretBundle, SecretItem, DeletedSecretBundle/Item) and list paging.

Shapes follow recorded traffic: keys with no value (tags, contentType, nbf, exp) are left out,
times are integer epoch seconds, list pages end with ``"nextLink": null``.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

from . import kv_errors
from .kv_model import Secret, SecretVersion, Vault

DEFAULT_PAGE = 25      # Key Vault's default and largest page ("up to 25 results")
DAY_S = 86400


def attributes(vault: Vault, version: SecretVersion) -> dict:
    attrs: dict = {"enabled": version.enabled}
    if version.nbf is not None:
        attrs["nbf"] = version.nbf
    if version.exp is not None:
        attrs["exp"] = version.exp
    attrs.update({"created": version.created, "updated": version.updated,
                  "recoveryLevel": vault.recovery_level, "recoverableDays": vault.retention_days})
    return attrs


def _common(vault: Vault, version: SecretVersion, secret_id: str) -> dict:
    body: dict = {"id": secret_id, "attributes": attributes(vault, version)}
    if version.content_type is not None:
        body["contentType"] = version.content_type
    if version.tags:
        body["tags"] = dict(version.tags)
    return body


def version_id(vault: Vault, secret: Secret, version: SecretVersion) -> str:
    return f"{vault.url}/secrets/{secret.name}/{version.version}"


def bundle(vault: Vault, secret: Secret, version: SecretVersion, with_value: bool) -> dict:
    """A SecretBundle: GET and PUT answers carry the value, PATCH answers do not."""
    body = _common(vault, version, version_id(vault, secret, version))
    if with_value:
        body = {"value": version.value, **body}
    return body


def item(vault: Vault, secret: Secret, version: SecretVersion | None = None) -> dict:
    """A SecretItem: the secret's id (latest version's properties) or, with ``version``, that version's id."""
    if version is None:
        return _common(vault, secret.latest, f"{vault.url}/secrets/{secret.name}")
    return _common(vault, version, version_id(vault, secret, version))


def deleted(vault: Vault, secret: Secret, full: bool) -> dict:
    """A DeletedSecretBundle (``full``: the latest version's id) or a DeletedSecretItem."""
    latest = secret.latest
    body = bundle(vault, secret, latest, with_value=False) if full else item(vault, secret)
    return {"recoveryId": f"{vault.url}/deletedsecrets/{secret.name}", "deletedDate": secret.deleted_at,
            "scheduledPurgeDate": secret.deleted_at + vault.retention_days * DAY_S, **body}


def page_size(query) -> int:
    raw = query.get("maxresults")
    if raw is None:
        return DEFAULT_PAGE
    try:
        size = int(raw)
    except ValueError:
        raise kv_errors.bad_parameter(f"The value '{raw}' is not valid for maxresults.") from None   # ours
    if not 1 <= size <= DEFAULT_PAGE:
        raise kv_errors.bad_parameter(f"maxresults must be between 1 and {DEFAULT_PAGE}.")   # ours
    return size


def _marker(query) -> str | None:
    token = query.get("$skiptoken")
    if not token:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["NextMarker"]
    except (ValueError, KeyError, TypeError):
        raise kv_errors.bad_parameter("The $skiptoken is not valid.") from None   # ours


def page(request, vault: Vault, keyed: list[tuple[str, dict]], api_version: str) -> dict:
    """One page of ``keyed`` ((sort key, item)) after the request's $skiptoken; nextLink as Key Vault writes it:
    absolute, with the default port spelled out (":443") and api-version, $skiptoken and maxresults."""
    size = page_size(request.query)
    marker = _marker(request.query)
    rest = [pair for pair in sorted(keyed, key=lambda p: p[0]) if marker is None or pair[0] > marker]
    chosen, more = rest[:size], len(rest) > size
    next_link = None
    if more:
        token = base64.urlsafe_b64encode(json.dumps({"NextMarker": chosen[-1][0]}).encode()).decode().rstrip("=")
        query = urlencode({"api-version": api_version, "$skiptoken": token, "maxresults": size})
        next_link = f"{vault.url}:443{request.path}?{query}"
    return {"value": [entry for _key, entry in chosen], "nextLink": next_link}
