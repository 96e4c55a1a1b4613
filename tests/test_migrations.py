"""Migrations apply once each, in order."""

from db.migrate import migrate_url, migration_files


async def test_migrations_are_applied_once(database_url: str) -> None:
    # The test database is a copy of the migrated template: nothing is left to apply.
    assert await migrate_url(database_url) == []


def test_migrations_are_numbered_without_gaps() -> None:
    numbers = [n for n, _, _ in migration_files()]
    assert numbers == list(range(1, len(numbers) + 1))
