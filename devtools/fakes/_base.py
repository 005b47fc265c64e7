"""Shared plumbing for the local protocol fakes: an aiohttp app on 127.0.0.1, port 0 by default."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable
from types import TracebackType
from typing import Self

from aiohttp import web


class FakeServer:
    """An aiohttp server that a test starts inside its own event loop.

    Subclasses add routes in `_setup_routes`. Binding to port 0 lets many tests (and many
    workers) run at once without port clashes; `.url` gives the address actually bound.
    """

    scheme = "http"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.app = web.Application()
        self._setup_routes(self.app)

    def _setup_routes(self, app: web.Application) -> None:
        """Register the protocol's routes on `app`."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """Scheme, host and bound port, without a trailing slash."""
        if self._runner is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Same as `base_url` (both names read naturally in tests)."""
        return self.base_url

    async def start(self) -> Self:
        """Bind and start serving; returns self so `fake = await Fake().start()` works."""
        if self._runner is not None:
            return self
        self._stopping = asyncio.Event()
        # handler_cancellation: a handler whose client went away (e.g. a hung chat request
        # the SDK timed out) is cancelled instead of living until shutdown.
        runner = web.AppRunner(
            self.app, shutdown_timeout=1.0, handler_cancellation=True, access_log=None
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        site = web.SockSite(runner, sock)
        await site.start()
        self.port = sock.getsockname()[1]
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Release anything parked (hung requests, open sockets), then shut the server down."""
        if self._runner is None:
            return
        self._stopping.set()
        await self._before_stop()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def _before_stop(self) -> None:
        """Hook for subclasses: close long-lived connections so shutdown does not wait."""

    async def _park_until_stopped(self, request: web.Request) -> None:
        """Never answer: wait until the client disconnects or the fake stops."""
        while not self._stopping.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=0.05)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def run_forever(*servers: FakeServer) -> None:
    """Run fakes as a standalone process (benchmarks) until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def main() -> None:
        for server in servers:
            await server.start()
            logging.getLogger("fakes").info("%s listening on %s", type(server).__name__, server.url)
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, done.set)
        try:
            await done.wait()
        finally:
            for server in servers:
                await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


async def wait_until(predicate: Callable[[], bool], *, within: float = 2.0) -> None:
    """Poll `predicate` until true; tests use it to wait for what a fake has recorded."""
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"condition not met within {within} s")
        await asyncio.sleep(0.01)
