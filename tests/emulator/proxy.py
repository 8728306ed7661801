"""A CONNECT-only HTTPS proxy on 127.0.0.1 that makes vault hosts reachable without DNS.

Vault URLs are ``https://<vault>.vault.azure-emulator.local`` (port 443), like Azure's. No resolver
maps that name to loopback and /etc/hosts is not ours to edit, so clients reach it the way many
corporate networks do: ``HTTPS_PROXY=http://127.0.0.1:<proxy port>``. The proxy tunnels
``CONNECT <existing vault>.vault.azure-emulator.local:443`` (and the emulator's own 127.0.0.1 port)
to the emulator's TLS port; TLS stays end to end, so the client checks the certificate
(``*.vault.azure-emulator.local``) itself. A vault that does not exist answers 502, as a name that
does not resolve; anything else is refused with 403: nothing ever leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib

from .kv_model import vault_host_name

HOST = "127.0.0.1"
HEAD_LIMIT = 8192
HEAD_TIMEOUT_S = 10.0
CHUNK = 65536


class ConnectProxy:
    def __init__(self, store, target_port: int):
        self.store = store
        self.target_port = target_port
        self.server: asyncio.AbstractServer | None = None
        self.connections: set[asyncio.StreamWriter] = set()
        self.counts = {"tunnels": 0, "refused": 0}

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, HOST, 0, limit=HEAD_LIMIT)
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self.connections):
            writer.close()
        if self.server is not None:
            await self.server.wait_closed()

    def _verdict(self, target: str) -> int:
        """200 to tunnel, 502 for a vault name that does not exist, 403 for anything else."""
        host, _sep, port = target.rpartition(":")
        host = host.strip("[]").lower()
        if host in (HOST, "localhost") and port == str(self.target_port):
            return 200
        if self.store.key_vaults.by_host(host) is not None:
            return 200 if port == "443" else 403
        return 502 if vault_host_name(host) else 403

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.add(writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
            method, target = (head.split(b"\r\n", 1)[0].decode("latin-1").split(" ") + ["", ""])[:2]
            status = self._verdict(target) if method.upper() == "CONNECT" else 405
            if status != 200:
                self.counts["refused"] += 1
                await self._answer(writer, status)
                return
            self.counts["tunnels"] += 1
            await self._tunnel(reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            self.connections.discard(writer)
            writer.close()

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int) -> None:
        reason = {403: "Forbidden", 405: "Method Not Allowed", 502: "Bad Gateway"}[status]
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(HOST, self.target_port)
        self.connections.add(up_writer)
        try:
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self.connections.discard(up_writer)
            up_writer.close()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy bytes until either side closes; then half-close the sink so the other side sees EOF."""
        try:
            while data := await source.read(CHUNK):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                if sink.can_write_eof():
                    sink.write_eof()
