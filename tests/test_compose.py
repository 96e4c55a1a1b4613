"""docker-compose.yml cannot run here; check its shape and that it speaks the app's settings."""

import re
import shlex
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from settings import PRODUCTION_SECRETS, Settings, env_name

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("worker", "api", "setup")
# The services that hold secrets, from the operator's env file.
SECRET_SERVICES = ("worker", "api")
ENV_FILE = "journeys.env"
# Not in python:3.11-slim (Debian slim without procps, curl, wget or netcat), the app's image.
ABSENT_FROM_APP_IMAGE = {"pgrep", "pkill", "pidof", "ps", "curl", "wget", "nc", "netcat"}
# The one program each health check runs, and why its image has it (see docker-compose.yml).
HEALTH_PROGRAMS = {
    "postgresql": "pg_isready",  # ships with the server
    "temporal": "temporal",  # the CLI in the server images' /usr/local/bin
    "temporal-ui": "wget",  # busybox, Alpine-based image
    "mailcatcher": "/mailpit",  # `mailpit readyz`, the image's own HEALTHCHECK
    "caldav": "curl",  # installed by the image for its own HEALTHCHECK
    "worker": "journeys",  # the app's image: its own command
    "api": "python",  # the app's image
}


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


def test_every_app_service_runs_in_production() -> None:
    services = _compose()["services"]
    for name in APP_SERVICES:
        assert services[name]["environment"]["JOURNEYS_ENVIRONMENT"] == "production", name


def test_no_secret_is_written_in_the_compose_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for name in PRODUCTION_SECRETS:
        development_value = Settings.model_fields[name].default.get_secret_value()
        assert development_value not in text, name
    for service, spec in _compose()["services"].items():
        for variable in spec.get("environment") or {}:
            assert not re.match(r"JOURNEYS_.*(SECRET|KEY|TOKEN|PASSWORD)", variable), (
                f"{service} sets {variable} inline; it belongs in {ENV_FILE}"
            )


def _env_files(spec: dict[str, Any]) -> list[str]:
    files = spec.get("env_file") or []
    return (
        [files]
        if isinstance(files, str)
        else [f if isinstance(f, str) else f["path"] for f in files]
    )


def test_secrets_come_from_the_operators_env_file() -> None:
    services = _compose()["services"]
    for name in SECRET_SERVICES:
        assert ENV_FILE in _env_files(services[name]), name
    assert ENV_FILE in (ROOT / ".gitignore").read_text().split()
    assert ENV_FILE in (ROOT / ".dockerignore").read_text().split()


def test_the_env_file_example_lists_every_secret_production_requires() -> None:
    example = dotenv_values(ROOT / f"{ENV_FILE}.example")
    for name in (*PRODUCTION_SECRETS, "payload_keys"):
        assert env_name(name) in example, env_name(name)
    # The placeholders are refused, so a copy nobody filled in does not start.
    unfilled = Settings.model_validate(
        {k.removeprefix("JOURNEYS_").lower(): v for k, v in example.items()}
        | {"environment": "production"}
    )
    problems = unfilled.production_problems()
    assert len(problems) == len(PRODUCTION_SECRETS) + 1
    assert any(p.startswith("JOURNEYS_PAYLOAD_KEYS is empty") for p in problems)


def _health_command(spec: dict[str, Any]) -> list[str]:
    test = spec["healthcheck"]["test"]
    if test[0] == "CMD-SHELL":
        return shlex.split(test[1])
    assert test[0] == "CMD"
    return list(test[1:])


def test_health_checks_use_only_programs_their_images_have() -> None:
    services = _compose()["services"]
    for name, spec in services.items():
        if "healthcheck" not in spec:
            continue
        command = _health_command(spec)
        assert command[0] == HEALTH_PROGRAMS.get(name), f"{name}: check what its image has"
        if spec.get("build"):
            absent = ABSENT_FROM_APP_IMAGE & set(command)
            assert not absent, f"{name} runs {absent}, not in python:3.11-slim"


def test_the_worker_health_check_is_a_command_of_the_image() -> None:
    from typer.testing import CliRunner

    import cli

    assert _health_command(_compose()["services"]["worker"]) == ["journeys", "worker", "--check"]
    assert "--check" in CliRunner().invoke(cli.app, ["worker", "--help"]).output
