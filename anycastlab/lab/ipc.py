"""Unix-socket helpers shared by the clients of lab daemons.

A sockaddr_un holds about 107 bytes, and run folders (pytest's temporary
folders, deep checkouts) can be longer. Daemons therefore bind relative
paths inside their own folder, and clients reach long paths through
/proc/self/fd/<dirfd>/<name>.
"""
from __future__ import annotations

import os
import socket

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
