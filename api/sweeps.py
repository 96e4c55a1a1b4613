"""The API's background sweeps: work each replica runs every so often beside the requests,
safe to run on several at once (`api/app.py` starts them from settings)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    """`run` every `every`: it returns how many things it did, which `done` tells (a
    %-format of that count) at `level`. The errors in `retried` mean a server is not there
    yet: logged by their type alone, and the sweep tried again next time."""

    run: Callable[[], Awaitable[int]]
    every: timedelta
    done: str
    not_yet: str
    retried: tuple[type[Exception], ...]
    level: int = logging.INFO


async def keep_sweeping(sweep: Sweep) -> None:
    """Run `sweep` forever; cancel the task to stop it."""
    while True:
        await asyncio.sleep(sweep.every.total_seconds())
        try:
            count = await sweep.run()
            if count:
                log.log(sweep.level, sweep.done, count)
        except sweep.retried as err:
            log.warning(sweep.not_yet, type(err).__name__)
