"""localstripe and the Checkout stand-in in front of it, each in its own process on a free
loopback port, stopped by its PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(port: int, process: subprocess.Popen) -> None:
    for _ in range(150):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def _serving(args: list[str], port: int):
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:  # aiohttp's graceful shutdown waits for kept-alive connections
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def localstripe_server():
    """localstripe listens on all interfaces by itself; run its app on 127.0.0.1 only."""
    port = free_port()
    code = (
        "from aiohttp import web; from localstripe.server import app; "
        f"web.run_app(app, host='127.0.0.1', port={port}, print=None)"
    )
    with _serving([sys.executable, "-c", code], port) as url:
        yield url


@contextmanager
def checkout_server(localstripe_url: str, webhook_secret: str):
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "tests.support.stripe_checkout",
        str(port),
        localstripe_url,
        webhook_secret,
    ]
    with _serving(args, port) as url:
        yield url
