"""Export histories from the server as files, to build a replay corpus.

The files use the corpus format of `tests/histories/` (`{"workflow_id", "history"}`): the
bare history JSON does not always carry the workflow id, and replay reports name it.
"""

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from temporalio.client import Client

from audit.replay import histories_from_server


async def export_histories(client: Client, query: str, folder: Path) -> list[Path]:
    """Write one `<workflow_id>.<run_id>.json` per run the query selects; the paths written."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    written = []
    async for history in histories_from_server(client, query):
        # Workflow ids may hold any character; the file name must stay one name in `folder`.
        safe_id = re.sub(r"[^A-Za-z0-9._-]", "_", history.workflow_id)
        path = folder / f"{safe_id}.{history.run_id}.json"
        body = {"workflow_id": history.workflow_id, "history": history.to_json_dict()}
        await asyncio.to_thread(_write, path, body)
        written.append(path)
    return written


def _write(path: Path, body: dict[str, Any]) -> None:
    path.write_text(json.dumps(body, indent=1))
