"""`host:port` settings, as the metrics servers bind them and `journeys dev` prints them."""


def split_address(address: str) -> tuple[str, int]:
    """`127.0.0.1:9464` as ("127.0.0.1", 9464); `[::1]:9464` as ("::1", 9464)."""
    host, _, port = address.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


def metrics_url(address: str) -> str:
    """Where Prometheus (or a person) reads the metrics served on `address`."""
    host, port = split_address(address)
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/metrics"
