"""Unix-socket helpers shared by the clients of lab daemons: the connect that
survives long paths, and ``JsonLineClient`` (the speaker API, the link engine).

A sockaddr_un holds about 107 bytes, and run folders (pytest's temporary
folders, deep checkouts) can be longer. Daemons therefore bind relative
paths inside their own folder, and clients reach long paths through
/proc/self/fd/<dirfd>/<name>.
"""
from __future__ import annotations

import json
import os
import socket
from typing import Any

from ..errors import LabError

MAX_SUN_PATH = 100


def connect_unix(sock: socket.socket, path: str | os.PathLike) -> None:
    """Connect a Unix stream socket to ``path``, however long the path is."""
    p = os.fspath(path)
    if len(p) < MAX_SUN_PATH:
        sock.connect(p)
        return
    dirfd = os.open(os.path.dirname(p) or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        sock.connect(f"/proc/self/fd/{dirfd}/{os.path.basename(p)}")
    finally:
        os.close(dirfd)


class JsonLineClient:
    """One request per connection: a JSON object and a newline out, one JSON
    line back with ``ok``. One connection per request keeps a client robust
    to a daemon that restarts. The speaker API and the link engine speak it."""

    what = "daemon"            # named in errors: "cannot talk to <what> at <path>"
    error: type[LabError] = LabError
    fix = ""

    def __init__(self, path: str | os.PathLike, timeout: float = 5.0) -> None:
        self.path, self.timeout = path, timeout

    def request(self, msg: dict[str, Any]) -> dict[str, Any]:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(self.timeout)
                connect_unix(s, self.path)
                s.sendall(json.dumps(msg).encode() + b"\n")
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        raise self.error(f"{self.what} at {self.path} closed the connection",
                                         file=self.path, fix=self.fix)
                    buf += chunk
        except OSError as e:
            raise self.error(f"cannot talk to {self.what} at {self.path}: {e}",
                             file=self.path, fix=self.fix) from None
        try:
            reply = json.loads(buf)
        except ValueError as e:
            raise self.error(f"bad reply from {self.what} at {self.path}: {e}", file=self.path) from None
        if not isinstance(reply, dict) or not reply.get("ok"):
            err = reply.get("error") if isinstance(reply, dict) else reply
            raise self.error(f"{self.what} refused {msg.get('op')!r}: {err}", file=self.path)
        return reply
