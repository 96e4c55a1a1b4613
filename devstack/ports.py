"""Port checks that fail with a message naming the port, not a traceback."""

import socket


class PortTaken(Exception):
    """A port the local stack needs is already in use."""


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
