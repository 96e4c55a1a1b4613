"""docker-compose.yml cannot run here; check its shape and that it speaks the app's settings."""

from pathlib import Path
from typing import Any

import yaml

from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("worker", "api", "setup")


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def test_every_service_the_app_needs_is_there() -> None:
    services = _compose()["services"]
    assert {"postgresql", "temporal", "temporal-ui", "mailcatcher", "worker", "api"} <= set(
        services
    )


def test_long_running_services_have_health_checks() -> None:
    for name, service in _compose()["services"].items():
        if name != "setup":
            assert "healthcheck" in service, name


def test_dependencies_wait_on_conditions() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on missing {dependency}"
            assert spec["condition"] in ("service_healthy", "service_completed_successfully"), (
                f"{name} -> {dependency}"
            )
    assert services["temporal"]["depends_on"]["postgresql"]["condition"] == "service_healthy"
    assert (
        services["worker"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    )


def test_app_environment_matches_the_settings_it_reads() -> None:
    known = {f"JOURNEYS_{name.upper()}" for name in Settings.model_fields}
    services = _compose()["services"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert set(env) <= known, f"{name}: unknown {set(env) - known}"
        for required in (
            "JOURNEYS_DATABASE_URL",
            "JOURNEYS_TEMPORAL_ADDRESS",
            "JOURNEYS_SMTP_HOST",
        ):
            assert required in env, f"{name} lacks {required}"
        assert env["JOURNEYS_TEMPORAL_ADDRESS"].split(":")[0] in services
        assert env["JOURNEYS_SMTP_HOST"] in services
        assert "@postgresql:" in env["JOURNEYS_DATABASE_URL"]
        Settings.model_validate({k.removeprefix("JOURNEYS_").lower(): v for k, v in env.items()})


def test_the_image_runs_the_commands_compose_asks_for() -> None:
    import cli

    commands = {c.name or c.callback.__name__ for c in cli.app.registered_commands}  # type: ignore[union-attr]
    for name in APP_SERVICES:
        command = _compose()["services"][name]["command"]
        assert command[0] == "journeys" and command[1] in commands
