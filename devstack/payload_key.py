"""The local stack's payload key: made once under the state folder, then reused.

Reused because the journeys in flight (and every history the local server keeps) are
encrypted under it: a new key at each start would leave the worker unable to read them.
"""

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from integrations.payload_keys import new_payload_key_entry, parse_payload_keys

KEY_FILE = "payload-keys"


def dev_payload_keys(state_dir: Path) -> str:
    """The `JOURNEYS_PAYLOAD_KEYS` value kept in `state_dir`, made on first use (mode 0600)."""
    path = state_dir / KEY_FILE
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two stacks starting at once never both write, and an existing file (or a
        # link planted in its place) is never overwritten.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(new_payload_key_entry(f"dev-{datetime.now(UTC):%Y%m%d}") + "\n")
    # A copy or an editor may have widened the mode; the key reads every local history.
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
    value = path.read_text().strip()
    parse_payload_keys(value, source=str(path))
    return value
