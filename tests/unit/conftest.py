"""The unit tests: pure rules, no servers, seconds to run (`make test-fast`).

Collected under `make test` with the rest, they still start nothing: a unit test that asks for
one of the suite's fixtures (each of which reaches a server: PostgreSQL, Temporal, SMTP,
CalDAV, a browser) fails at collection, rather than quietly slowing the fast run down.
"""

import pytest


def _suite_fixtures(item: pytest.Item) -> list[str]:
    """The fixtures `item` uses that the rest of the suite defines, outside tests/unit."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    found = []
    for name, definitions in info.name2fixturedefs.items():
        for definition in definitions:
            module = getattr(definition.func, "__module__", "") or ""
            if module.startswith("tests.") and not module.startswith("tests.unit"):
                found.append(name)
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not item.nodeid.startswith("tests/unit/"):
            continue
        used = _suite_fixtures(item)
        if used:
            raise pytest.UsageError(
                f"{item.nodeid} is a unit test and may not use the suite's servers: {used}"
            )
