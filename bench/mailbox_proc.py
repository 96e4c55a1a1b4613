"""The project's SMTP mailbox in its own process, so its work is not charged to the drivers.

python -m bench.mailbox_proc DIRECTORY PORT
"""

import signal
import sys
import threading
import warnings
from pathlib import Path

from devstack.mailbox import start_mailbox


def main() -> None:
    directory, port = Path(sys.argv[1]), int(sys.argv[2])
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller = start_mailbox(directory, port=port)
    print("READY", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
