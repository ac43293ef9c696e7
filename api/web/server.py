"""Run the application on a real socket in a background thread (the demo, tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


@contextmanager
def serving(
    app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 60.0
) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread while the block runs; yield its base URL.

    ``port`` 0 takes a free port. The server shuts down (lifespan included) when the block ends.
    """
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="ballistics-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the API server could not start on {host}:{port}; is it in use?")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the API server did not start within {start_timeout_s:.0f} s")
        time.sleep(0.05)
    bound = port
    for listener in server.servers:
        for socket in listener.sockets:
            bound = socket.getsockname()[1]
            break
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(30)
