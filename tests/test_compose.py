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
    "prometheus": "wget",  # busybox, the Prometheus project's base image
    "grafana": "wget",  # busybox, Alpine-based image
}
# Which service Prometheus scrapes in each job, and the setting that binds its metrics.
SCRAPED = {
    "journeys-worker": ("worker", "JOURNEYS_WORKER_METRICS_ADDRESS"),
    "journeys-api": ("api", "JOURNEYS_API_METRICS_ADDRESS"),
}


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def test_every_service_the_app_needs_is_there() -> None:
    services = _compose()["services"]
    assert {"postgresql", "temporal", "temporal-ui", "mailcatcher", "worker", "api"} <= set(
        services
    )
    assert {"prometheus", "grafana"} <= set(services)


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
    assert len(problems) == len(PRODUCTION_SECRETS) + 2
    assert any(p.startswith("JOURNEYS_PAYLOAD_KEYS is empty") for p in problems)
    assert any(p.startswith("JOURNEYS_TEMPORAL_TLS is off") for p in problems)


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


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """A service's bind mounts of this repository: its path -> the path in the container."""
    mounts = {}
    for volume in service.get("volumes") or []:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            mounts[source] = target
    return mounts


def test_prometheus_scrapes_every_metrics_address_on_the_compose_network() -> None:
    services = _compose()["services"]
    config = yaml.safe_load((ROOT / "ops" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for job_name, (service, setting) in SCRAPED.items():
        [discovery] = jobs[job_name]["dns_sd_configs"]
        # The service's name resolves to every replica of it.
        assert discovery["names"] == [service]
        host, _, port = services[service]["environment"][setting].rpartition(":")
        assert host == "0.0.0.0", f"{service} must be reachable from Prometheus"
        assert discovery["port"] == int(port)
        published = " ".join(str(p) for p in services[service].get("ports") or [])
        assert port not in published, f"{service}'s metrics are not for the public"


def test_prometheus_and_grafana_load_the_files_in_ops() -> None:
    services = _compose()["services"]
    prometheus = services["prometheus"]
    mounts = _mounts(prometheus)
    assert mounts["./ops/prometheus"] == "/etc/prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    for source in (*mounts, *_mounts(services["grafana"])):
        assert (ROOT / source).is_dir(), source
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    # Grafana's admin password is the operator's, never written here, nor committed in the
    # .env compose reads it from.
    password = services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${") and ":?" in password
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def test_the_image_holds_every_package_the_project_installs() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = re.findall(r"^COPY (\S+) \./\S+$", (ROOT / "Dockerfile").read_text(), re.M)
    assert set(packages) <= set(copied)
