"""Where the `journeys` command finds its settings: the environment, then --env-file or the
running `journeys dev`'s file; and that file as the stack writes it. No servers."""

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from command_settings import DEV_ENV_FILE, SettingProblem, choose_source
from devstack.dev_env import remove_dev_env, write_dev_env
from settings import Settings


def _dev_stack(state: Path, **values: str) -> Path:
    write_dev_env(
        state,
        {"JOURNEYS_ENVIRONMENT": "development"} | values,
        header="written by the test",
    )
    return state / DEV_ENV_FILE


def test_the_stack_file_is_private_and_reads_back_every_value_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suite exports these (conftest.py), and the environment wins over the file.
    monkeypatch.delenv("JOURNEYS_ENVIRONMENT")
    monkeypatch.delenv("JOURNEYS_PAYLOAD_KEYS")
    tricky = {
        # A URL with a query string and a Unix socket folder, as the embedded PostgreSQL's.
        "JOURNEYS_DATABASE_URL": "postgresql://postgres:@/postgres?host=/tmp/a b/pgdata",
        "JOURNEYS_CALDAV_PASSWORD": "it's $HOME #not a comment \\n",
        "JOURNEYS_PAYLOAD_KEYS": "dev-20261120:dGVzdC1wYXlsb2FkLWtleS1mb3ItdGhlLXN1aXRlISE=",
    }
    path = _dev_stack(tmp_path / "state", **tricky)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [DEV_ENV_FILE], "no temporary file left"
    read = Settings(_env_file=path)  # type: ignore[call-arg]  # pydantic-settings, not a field
    assert read.database_url == tricky["JOURNEYS_DATABASE_URL"]
    assert read.caldav_password == SecretStr(tricky["JOURNEYS_CALDAV_PASSWORD"])
    assert read.payload_keys == SecretStr(tricky["JOURNEYS_PAYLOAD_KEYS"])
    assert read.environment == "development"


def test_a_stopping_stack_removes_only_the_file_it_wrote(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = write_dev_env(state, {"JOURNEYS_API_PORT": "8001"}, header="first")
    write_dev_env(state, {"JOURNEYS_API_PORT": "8002"}, header="second")
    remove_dev_env(state, first)
    assert (state / DEV_ENV_FILE).is_file(), "the second stack's file stays"
    remove_dev_env(state, (state / DEV_ENV_FILE).read_text())
    assert not (state / DEV_ENV_FILE).exists()
    remove_dev_env(state, first)


def test_beside_a_running_stack_commands_read_its_file(tmp_path: Path) -> None:
    dev_file = _dev_stack(tmp_path / "state")
    environ = {"JOURNEYS_STATE_DIR": str(tmp_path / "state")}
    for command in ("erase", "audit", "timeline", "token", None):
        assert choose_source(None, command, environ).file == dev_file


@pytest.mark.parametrize("command", ["dev", "worker", "api"])
def test_the_stack_and_the_services_never_read_the_stack_file(tmp_path: Path, command: str) -> None:
    _dev_stack(tmp_path / "state")
    environ = {"JOURNEYS_STATE_DIR": str(tmp_path / "state"), "JOURNEYS_ENVIRONMENT": "development"}
    chosen = choose_source(None, command, environ)
    assert chosen.file is None
    assert f"`journeys {command}` reads only the environment and --env-file" in chosen.unset()


@pytest.mark.parametrize("name", ["JOURNEYS_ENVIRONMENT", "journeys_environment"])
def test_production_in_the_environment_shuts_the_stack_file_out(tmp_path: Path, name: str) -> None:
    dev_file = _dev_stack(tmp_path / "state", JOURNEYS_DATABASE_URL="postgresql://dev")
    environ = {"JOURNEYS_STATE_DIR": str(tmp_path / "state"), name: "production"}
    chosen = choose_source(None, "erase", environ)
    assert chosen.file is None
    assert chosen.unset() == (
        f"set it, or give --env-file ({dev_file} is not read: the environment sets "
        "JOURNEYS_ENVIRONMENT=production)"
    )


def test_an_env_file_replaces_the_stack_file_and_must_exist(tmp_path: Path) -> None:
    _dev_stack(tmp_path / "state")
    mine = tmp_path / "ops.env"
    mine.write_text("JOURNEYS_DATABASE_URL=postgresql://ops\n")
    environ = {"JOURNEYS_STATE_DIR": str(tmp_path / "state")}
    # Named explicitly, a file is read by every command, the services' included.
    for command in ("erase", "worker"):
        assert choose_source(mine, command, environ).file == mine
    with pytest.raises(SettingProblem, match=r"^--env-file .*missing\.env: no such file$"):
        choose_source(tmp_path / "missing.env", "erase", environ)
    with pytest.raises(SettingProblem, match="no such file"):
        choose_source(tmp_path, "erase", environ)


def test_a_setting_is_named_with_the_file_it_came_from(tmp_path: Path) -> None:
    dev_file = _dev_stack(tmp_path / "state", JOURNEYS_DATABASE_URL="postgresql://dev")
    environ = {
        "JOURNEYS_STATE_DIR": str(tmp_path / "state"),
        "JOURNEYS_TEMPORAL_ADDRESS": "10.0.0.1:7233",
    }
    chosen = choose_source(None, "erase", environ)
    assert chosen.name("JOURNEYS_DATABASE_URL") == f"JOURNEYS_DATABASE_URL (from {dev_file})"
    assert chosen.name("JOURNEYS_TEMPORAL_ADDRESS") == "JOURNEYS_TEMPORAL_ADDRESS"
    assert "still running" in chosen.still_running("JOURNEYS_DATABASE_URL")
    assert chosen.still_running("JOURNEYS_TEMPORAL_ADDRESS") == ""


def test_without_a_stack_the_missing_setting_says_where_to_give_it(tmp_path: Path) -> None:
    chosen = choose_source(None, "erase", {"JOURNEYS_STATE_DIR": str(tmp_path / "state")})
    assert chosen.file is None
    assert chosen.unset() == (
        "set it, give --env-file, or run this beside `journeys dev` "
        f"(no {tmp_path / 'state' / DEV_ENV_FILE} here: none runs in this folder)"
    )


def test_the_stack_hands_a_file_it_was_given_to_its_children_and_to_its_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack.stack import DevStack

    env_file = tmp_path / "relay.env"
    env_file.write_text("JOURNEYS_SMTP_PASSWORD=from-the-file\nJOURNEYS_MAIL_FROM=file@x.test\n")
    monkeypatch.setenv("JOURNEYS_MAIL_FROM", "shell@x.test")
    stack = DevStack(Settings(state_dir=tmp_path / "state"), env_file=env_file)
    assert stack.env["JOURNEYS_SMTP_PASSWORD"] == "from-the-file"
    assert stack.env["JOURNEYS_MAIL_FROM"] == "shell@x.test", "the environment wins"
    written = stack.command_settings()
    assert written["JOURNEYS_SMTP_PASSWORD"] == "from-the-file"
    assert written["JOURNEYS_ENVIRONMENT"] == "development"
    assert written["JOURNEYS_STATE_DIR"] == str((tmp_path / "state").resolve())
