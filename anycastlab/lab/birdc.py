"""Talk to a running BIRD through its control socket, as birdc does.

BIRD's socket speaks lines: ``NNNN-text`` continues a reply, ``NNNN text``
ends it, and a leading space continues the previous code. Codes 8xxx/9xxx
are errors. A socket path is a file, so this works from the root
namespace while BIRD runs inside a node's namespace.
"""
from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path

from ..errors import LabError
from .ipc import connect_unix


class BirdClient:
    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout

    def command(self, cmd: str) -> str:
        """Send one command; return the reply text without the codes."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(self.timeout)
                connect_unix(s, self.path)
                f = s.makefile("rwb")
                self._read(f)  # greeting
                f.write(cmd.encode() + b"\n")
                f.flush()
                return self._read(f)
        except OSError as exc:
            raise LabError(f"cannot talk to BIRD: {exc}", file=self.path,
                           fix="is the lab still up? see 'anycastlab up'") from None

    def _read(self, f) -> str:  # type: ignore[no-untyped-def]
        lines = []
        while True:
            raw = f.readline()
            if not raw:
                raise OSError("connection closed by BIRD")
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith(" "):
                lines.append(line[1:])
                continue
            code, sep, text = line[:4], line[4:5], line[5:]
            if code.isdigit():
                if code == "8001":  # "Network not found": an empty answer, not an error
                    return ""
                if code[0] in "89":
                    raise OSError(f"BIRD error {code}: {text}")
                if code != "0000" or text:
                    lines.append(text)
                if sep == " ":
                    return "\n".join(lines)
            else:
                lines.append(line)


@dataclass(frozen=True)
class Protocol:
    name: str
    proto: str
    state: str
    info: str


def parse_protocols(text: str) -> list[Protocol]:
    out = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 4 or parts[0] == "Name":
            continue
        # Name Proto Table State Since Info; Table may be '---'
        name, proto, _table, state = parts[:4]
        rest = line.split(None, 4)[4] if len(line.split(None, 4)) > 4 else ""
        info = re.sub(r"^\S+\s+\S+\s*", "", rest) if rest[:4].isdigit() else rest
        out.append(Protocol(name, proto, state, info.strip()))
    return out


def bgp_sessions(client: BirdClient) -> list[Protocol]:
    return [p for p in parse_protocols(client.command("show protocols")) if p.proto == "BGP"]


ROUTE_LINE = re.compile(r"^(\d+\.\d+\.\d+\.\d+/\d+)\s")


def route_prefixes(client: BirdClient, table: str = "master4") -> set[str]:
    """Prefixes present in a BIRD table (any source)."""
    text = client.command(f"show route table {table}")
    return {m.group(1) for line in text.splitlines() if (m := ROUTE_LINE.match(line))}
