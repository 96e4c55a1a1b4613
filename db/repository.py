"""What every repository has in common: the connection it is handed."""

import asyncpg


class Repository:
    """Owns the SQL of one concern. Takes a connection; the caller owns the pool and decides
    whether the calls share a transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
