"""Running the web app under uvicorn: one process, or several worker processes sharing one socket.

With several workers uvicorn binds the listening socket itself (`Config.bind_socket`) with
`proto` left at 0. asyncio turns on TCP_NODELAY only for accepted sockets that report
IPPROTO_TCP, so every worker's connections kept Nagle's algorithm: each keep-alive request after
the first waited for the client's delayed ACK, about 40 ms on Linux (uvicorn issue #3149,
measured here: an API read 4 ms with one worker, 48 ms with two). TCP_NODELAY set on the
listening socket is inherited by the sockets it accepts (Linux), so the workers answer at once.
"""

from __future__ import annotations

import socket


def run(app, *, workers: int = 1, **options) -> None:
    """Serve `app` (an ASGI app, or with `factory=True` the import path of a factory) the way
    `uvicorn.run` does, with the listening socket of several workers set to send at once."""
    import uvicorn

    if workers == 1:
        uvicorn.run(app, **options)
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(app, workers=workers, **options)
    Multiprocess(config, sockets=[no_delay(config.bind_socket())]).run()


def no_delay(listener: socket.socket) -> socket.socket:
    """`listener` with TCP_NODELAY on, for the connections it accepts (not for Unix sockets)."""
    if listener.family in (socket.AF_INET, socket.AF_INET6):
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener
