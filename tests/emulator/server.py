"""Start-up: principals, fleet, TLS, bind 127.0.0.1, write env.sh/env.json, serve until a signal."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shlex
import signal
import uuid
from pathlib import Path

from aiohttp import web

from .app import build_app
from .config import Config
from .fleet import FleetSeeder, load_fleet, make_principal
from .identity import CLOUD_NAME
from .kv_control import env_entries as key_vault_env
from .proxy import ConnectProxy
from .state import AUDIENCE, Store
from .tls import make_server_context

HOST = "127.0.0.1"   # never anything else


def bootstrap_principals(store: Store, fleet: dict) -> dict:
    """Fleet principals plus the defaults: a Contributor ('default'), a Reader and a managed identity."""
    tenant = next((p["tenant"] for p in fleet.get("principals") or [] if p.get("tenant")), None) or str(uuid.uuid4())
    specs = list(fleet.get("principals") or [])
    if not any(p.get("kind", "sp") == "sp" for p in specs):
        specs.insert(0, {"name": "default", "role": "Contributor"})
    if not any(p.get("name") == "reader" for p in specs):
        specs.append({"name": "reader", "role": "Reader"})
    if not any(p.get("kind") == "msi" for p in specs):
        specs.append({"name": "msi", "kind": "msi", "role": "Contributor"})
    created = {}
    for spec in specs:
        principal, secret = make_principal(spec, tenant)
        store.add_principal(principal)
        created.setdefault("default" if principal.kind == "sp" and "default" not in created else principal.name,
                           (principal, secret))
    return created


def write_env_files(state_dir: Path, store: Store, port: int, ca_file: Path, key: str, creds: dict) -> dict:
    url = f"https://{HOST}:{port}"
    default, default_secret = creds["default"]
    reader, reader_secret = creds["reader"]
    env = {
        "AZURE_SUBSCRIPTION_ID": store.default_subscription,
        "AZURE_CLIENT_ID": default.client_id,
        "AZURE_SECRET": default_secret,
        "AZURE_TENANT": default.tenant,
        "AZURE_CLOUD_ENVIRONMENT": url,
        "REQUESTS_CA_BUNDLE": str(ca_file),
        "AZURE_EMULATOR_URL": url,
        "AZURE_EMULATOR_CONTROL_KEY": key,
    }
    kv_variables, kv_info = key_vault_env(store)
    env.update(kv_variables)
    info = {
        **env, "url": url, "port": port, "pid": os.getpid(), "audience": AUDIENCE, "ca_file": str(ca_file),
        "state_dir": str(state_dir), "cloud_name": CLOUD_NAME, "time_scale": store.config.time_scale,
        "lenient": store.config.lenient,
        "metadata_url": f"{url}/metadata/endpoints?api-version=2022-09-01",
        "tenant": default.tenant, "object_id": default.object_id,
        "reader": {"client_id": reader.client_id, "secret": reader_secret, "tenant": reader.tenant,
                   "object_id": reader.object_id},
        "msi": {"identity_endpoint": f"{url}/msi/token", "identity_header": store.identity_header,
                "client_id": store.msi.client_id, "object_id": store.msi.object_id},
        "subscriptions": [s.id for s in store.subscriptions.values()],
        **kv_info,
    }
    sh = "".join(f"export {k}={shlex.quote(str(v))}\n" for k, v in env.items())
    _atomic_write(state_dir / "env.sh", sh)
    _atomic_write(state_dir / "env.json", json.dumps(info, indent=2) + "\n")   # last: it signals readiness
    return info


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # holds secrets: owner-only
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


async def serve(fleet_source, state_dir: Path, port: int = 0, time_scale: float | None = None,
                page_size: int | None = None, *, lenient: bool = False) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("env.json", "env.sh"):
        (state_dir / stale).unlink(missing_ok=True)
    fleet = load_fleet(fleet_source)
    config = Config()
    config.update({"time_scale": time_scale if time_scale is not None else fleet.get("time_scale", 1.0)})
    if page_size or fleet.get("page_size"):
        config.update({"page_size": page_size or fleet["page_size"]})
    config.update({"lenient": lenient})
    store = Store(config)
    creds = bootstrap_principals(store, fleet)
    resources = {k: v for k, v in fleet.items() if k != "principals"}
    FleetSeeder(store).seed(resources)
    if store.default_subscription is None:
        store.add_subscription(str(uuid.uuid4()))
        store.default_subscription = next(iter(store.subscriptions.values())).id

    ssl_context, ca_file = make_server_context(state_dir)
    key = secrets.token_urlsafe(24)
    app = build_app(store, key, resources)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, ssl_context=ssl_context, backlog=2048)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]
    store.base_url = f"https://{HOST}:{bound}"
    proxy = ConnectProxy(store, bound)   # reaches vault hosts (https://<vault>.vault.azure-emulator.local)
    store.key_vaults.proxy_url = f"http://{HOST}:{await proxy.start()}"

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    write_env_files(state_dir, store, bound, ca_file, key, creds)
    print(f"azure emulator serving {store.base_url} ({store.vm_count()} VMs); env: {state_dir / 'env.sh'}",
          flush=True)
    await stop.wait()
    await proxy.close()
    await runner.cleanup()
