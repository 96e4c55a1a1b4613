"""A local SMTP server that keeps every message it receives as an `.eml` file."""

import itertools
import os
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MailboxHandler:
    """aiosmtpd handler writing each message to `<directory>/<time>-<n>.eml`, atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        stamp = time.strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{os.getpid()}-{next(self._counter):05d}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(content)
        tmp.rename(self.directory / name)
        return "250 Message accepted for delivery"


def start_mailbox(directory: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    """Start the server in its own thread; call `.stop()` on the result to stop it."""
    controller = Controller(MailboxHandler(directory), hostname=host, port=port)
    controller.start()
    return controller
