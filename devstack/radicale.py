"""The local CalDAV server (Radicale, from its PyPI package) for the specialists' calendars.

It listens on loopback only and accepts any login: good for one developer's machine, never for
a shared one (production points JOURNEYS_CALDAV_URL at the real calendar server).
"""

import sys
from pathlib import Path


def radicale_command(*, storage: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "radicale",
        "--server-hosts",
        f"127.0.0.1:{port}",
        "--storage-filesystem-folder",
        str(storage),
        "--auth-type",
        "none",
        "--rights-type",
        "authenticated",
        "--logging-level",
        "warning",
    ]
