"""A local SMTP server that keeps every message it receives as an `.eml` file.

In a process of its own: `python -m devstack.mailbox DIRECTORY PORT`, which prints READY once
it accepts connections and stops on SIGINT or SIGTERM.
"""

import itertools
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

READY = "READY"


class MailboxHandler:
    """aiosmtpd handler writing each message to `<directory>/<time>-<n>.eml`, atomically.

    The messages are patients' emails (names, contacts, links to their pages): the folder is
    its owner's alone (0700) and so is each message (0600), whatever the umask says.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir's mode yields to the umask and leaves an existing folder as it was.
        self.directory.chmod(0o700)
        self._counter = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        stamp = time.strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{os.getpid()}-{next(self._counter):05d}.eml"
        tmp = self.directory / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        tmp.rename(self.directory / name)
        return "250 Message accepted for delivery"


def start_mailbox(directory: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    """Start the server in its own thread; call `.stop()` on the result to stop it."""
    controller = Controller(MailboxHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:
    directory, port = Path(sys.argv[1]), int(sys.argv[2])
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller = start_mailbox(directory, port=port)
    print(READY, flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
