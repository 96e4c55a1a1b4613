"""Port checks that fail with a message naming the port, not a traceback."""

import socket
from collections.abc import Iterable

from settings import is_loopback


class PortTaken(Exception):
    """A port the local stack needs is already in use."""


class NotLoopback(Exception):
    """The local stack was asked to listen beyond this machine."""


def ensure_loopback(listens: Iterable[tuple[str, str]]) -> None:
    """Refuse any (setting, host) that is not loopback: the local stack signs anyone in as the
    demo staff and runs on secrets published in this repository, so it must not be reachable
    from another machine."""
    for setting, host in listens:
        if not is_loopback(host):
            raise NotLoopback(
                f"{setting}={host} is not a loopback address, and development mode (demo "
                "sign-in, published secrets) listens on loopback only: use 127.0.0.1, or "
                "production settings for a server others reach"
            )


def ensure_free(port: int, what: str, *, host: str = "127.0.0.1", hint: str = "") -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            message = f"port {port} on {host} ({what}) is already in use"
            if hint:
                message += f"; {hint}"
            raise PortTaken(message) from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
