"""Cloud metadata, Entra ID (OpenID discovery + token endpoint) and the App Service
managed-identity endpoint: enough for the real azure-identity credentials, unmodified."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

from aiohttp import web

from .errors import json_response
from .state import AUDIENCE, audience_for

CLOUD_NAME = "AzureEmulatorCloud"
KNOWN_AUTHORITY_ALIASES = ("common", "organizations")


def cloud_metadata(base: str) -> dict:
    """Azure's /metadata/endpoints cloud object; every key azure-cli-core's mapper reads is present."""
    fake = "azure-emulator.local"
    return {
        "name": CLOUD_NAME,
        "portal": f"https://portal.{fake}/",
        "authentication": {"loginEndpoint": f"{base}/", "audiences": [AUDIENCE, AUDIENCE.rstrip("/"), f"{base}/"],
                           "tenant": "common", "identityProvider": "AAD"},
        "resourceManager": f"{base}/",
        "media": f"https://rest.media.{fake}/",
        "graphAudience": f"https://graph.{fake}/",
        "graph": f"https://graph.{fake}/",
        "microsoftGraphResourceId": f"https://graph.microsoft.{fake}/",
        "batch": f"https://batch.{fake}/",
        "gallery": f"https://gallery.{fake}/",
        "sqlManagement": f"https://management.core.{fake}:8443/",
        "vmImageAliasDoc": f"https://raw.{fake}/aliases.json",
        "activeDirectoryDataLake": f"https://datalake.{fake}/",
        "appInsightsResourceId": f"https://api.applicationinsights.{fake}",
        "appInsightsTelemetryChannelResourceId": f"https://dc.applicationinsights.{fake}/v2/track",
        "attestationResourceId": f"https://attest.{fake}",
        "synapseAnalyticsResourceId": f"https://dev.azuresynapse.{fake}",
        "logAnalyticsResourceId": f"https://api.loganalytics.{fake}",
        "ossrDbmsResourceId": f"https://ossrdbms-aad.database.{fake}",
        "suffixes": {
            "azureDataLakeStoreFileSystem": f"azuredatalakestore.{fake}",
            "acrLoginServer": f"azurecr.{fake}",
            "sqlServerHostname": f"database.{fake}",
            "azureDataLakeAnalyticsCatalogAndJob": f"azuredatalakeanalytics.{fake}",
            "keyVaultDns": f"vault.{fake}",
            "mhsmDns": f"managedhsm.{fake}",
            "storage": f"core.{fake}",
            "azureFrontDoorEndpointSuffix": f"azurefd.{fake}",
            "storageSyncEndpointSuffix": f"afs.{fake}",
            "mysqlServerEndpoint": f"mysql.database.{fake}",
            "postgresqlServerEndpoint": f"postgres.database.{fake}",
            "mariadbServerEndpoint": f"mariadb.database.{fake}",
            "synapseAnalytics": f"dev.azuresynapse.{fake}",
            "attestationEndpoint": f"attest.{fake}",
        },
    }


def _token_audience(store, resource_or_scope: str) -> str:
    """As Azure's ARM accepts tokens for its own URL (https://management.azure.com/, listed in the public cloud's
    authentication.audiences) as well as for the audience, a token for the emulator's resource-manager URL is one
    for AUDIENCE: azure.azcollection asks for '<resourceManager>/.default'."""
    audience = audience_for(resource_or_scope)
    return AUDIENCE if audience.rstrip("/").lower() == store.base_url.rstrip("/").lower() else audience


def _metadata_wants_list(api_version: str | None) -> bool:
    """api-version >= 2022-09-01 answers a list of clouds; older (and none) a single object."""
    return bool(api_version) and api_version[:10] >= "2022-09-01"


async def metadata_endpoints(request: web.Request) -> web.Response:
    store = request.app["store"]
    request["log"] = {"kind": "metadata"}
    cloud = cloud_metadata(store.base_url)
    return json_response([cloud] if _metadata_wants_list(request.query.get("api-version")) else cloud)


# --- Entra ID ---------------------------------------------------------------------------------

def _entra_error(status: int, error: str, aadsts: int, text: str, base: str) -> web.Response:
    now = datetime.now(timezone.utc)
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    return json_response({
        "error": error,
        "error_description": f"AADSTS{aadsts}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\n"
                             f"Timestamp: {stamp}",
        "error_codes": [aadsts], "timestamp": stamp, "trace_id": trace, "correlation_id": correlation,
        "error_uri": f"{base}/error?code={aadsts}",
    }, status=status)


def _tenant_not_found(tenant: str, base: str) -> web.Response:
    return _entra_error(400, "invalid_tenant", 90002,
                        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                        "signing into the correct cloud. Check with your subscription administrator, this may "
                        "happen if there are no active subscriptions for the tenant.", base)


def _known_tenant(store, tenant: str) -> bool:
    return tenant.lower() in store.tenants or tenant.lower() in KNOWN_AUTHORITY_ALIASES


async def openid_configuration(request: web.Request) -> web.Response:
    store, tenant = request.app["store"], request.match_info["tenant"]
    request["log"] = {"kind": "metadata"}
    base = store.base_url
    if not _known_tenant(store, tenant):
        return _tenant_not_found(tenant, base)
    issuer_tenant = "{tenantid}" if tenant.lower() in KNOWN_AUTHORITY_ALIASES else tenant
    return json_response({
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{issuer_tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        "http_logout_supported": True, "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "oid", "tid"],
        "tenant_region_scope": None, "cloud_instance_name": "azure-emulator.local",
        "cloud_graph_host_name": "graph.azure-emulator.local", "msgraph_host": "graph.microsoft.azure-emulator.local",
    })


async def token(request: web.Request) -> web.Response:
    """Client-credentials grant with a client secret (v2 'scope', or v1 'resource')."""
    store, tenant = request.app["store"], request.match_info["tenant"]
    base = store.base_url
    form = await request.post()
    client_id = str(form.get("client_id", ""))
    request["log"] = {"kind": "identity", "principal": client_id or None}
    if not _known_tenant(store, tenant) or tenant.lower() in KNOWN_AUTHORITY_ALIASES:
        return _tenant_not_found(tenant, base)
    grant = form.get("grant_type")
    if grant != "client_credentials":
        return _entra_error(400, "unsupported_grant_type", 70003,
                            "The app requested an unsupported grant type.", base)
    principal = store.principals.get(client_id.lower())
    if principal is None or principal.tenant.lower() != tenant.lower():
        return _entra_error(400, "unauthorized_client", 700016,
                            f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
                            "This can happen if the application has not been installed by the administrator of the "
                            "tenant or consented to by any user in the tenant. You may have sent your authentication "
                            "request to the wrong tenant.", base)
    secret = form.get("client_secret")
    if not secret:
        return _entra_error(401, "invalid_client", 7000216,
                            "'client_assertion', 'client_secret' or 'request' is required for the "
                            "'client_credentials' grant type.", base)
    if not principal.secret_matches(str(secret)):
        return _entra_error(401, "invalid_client", 7000215,
                            "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                            f"secret value, not the client secret ID, for a secret added to app '{client_id}'.", base)
    scope = str(form.get("scope") or form.get("resource") or "")
    if not scope:
        return _entra_error(400, "invalid_scope", 1002012, "The provided value for scope is not valid.", base)
    first_scope = scope.split()[0]
    access_token, lifetime = store.issue_token(principal, _token_audience(store, first_scope))
    body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": access_token}
    if "resource" in form and "scope" not in form:   # v1 endpoint shape
        body.update({"expires_on": str(int(time.time()) + lifetime), "resource": first_scope})
    return json_response(body)


async def managed_identity_token(request: web.Request) -> web.Response:
    """App Service managed identity (IDENTITY_ENDPOINT + IDENTITY_HEADER), api-version 2019-08-01."""
    store = request.app["store"]
    msi = store.msi
    request["log"] = {"kind": "identity", "principal": msi.client_id if msi else None}
    if msi is None:
        return json_response({"statusCode": 400, "message": "No managed identity is assigned."}, status=400)
    if request.headers.get("X-IDENTITY-HEADER") != store.identity_header:
        return json_response({"statusCode": 401, "message": "The X-IDENTITY-HEADER header is missing or invalid."},
                             status=401)
    if request.query.get("api-version") != "2019-08-01":
        return json_response({"statusCode": 400, "message": "The api-version is invalid; use 2019-08-01."},
                             status=400)
    resource = request.query.get("resource", "")
    if not resource:
        return json_response({"statusCode": 400, "message": "The 'resource' query parameter is required."},
                             status=400)
    access_token, lifetime = store.issue_token(msi, _token_audience(store, resource))
    return json_response({"access_token": access_token, "expires_on": str(int(time.time()) + lifetime),
                          "resource": resource, "token_type": "Bearer", "client_id": msi.client_id})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metadata/endpoints", metadata_endpoints)
    app.router.add_get("/msi/token", managed_identity_token)
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", token)
    app.router.add_post("/{tenant}/oauth2/token", token)
