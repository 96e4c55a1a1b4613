"""`journeys dev` makes its payload key once, readable by its owner only, and points the
Temporal UI at the codec server."""

from pathlib import Path

import pytest

from devstack.payload_key import KEY_FILE, dev_payload_keys
from devstack.temporal_server import dev_server_command
from integrations.payload_keys import PayloadKeyError, parse_payload_keys


def test_the_key_is_made_on_first_start_with_mode_0600_and_then_reused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = dev_payload_keys(state)
    path = state / KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    (key,) = parse_payload_keys(first)
    assert key.key_id.startswith("dev-") and len(key.secret) == 32
    assert dev_payload_keys(state) == first, "the same key at every start"

    path.chmod(0o644)
    assert dev_payload_keys(state) == first
    assert path.stat().st_mode & 0o777 == 0o600, "a widened mode is narrowed again"

    assert dev_payload_keys(tmp_path / "another") != first


def test_a_damaged_key_file_is_named(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("dev-1:c2hvcnQ=\n")
    with pytest.raises(PayloadKeyError, match=f"{tmp_path / KEY_FILE}: entry 1"):
        dev_payload_keys(tmp_path)


def test_the_dev_ui_is_given_the_codec_endpoint(tmp_path: Path) -> None:
    command = dev_server_command(
        db_file=tmp_path / "t.db",
        port=7233,
        ui_port=8233,
        codec_endpoint="http://127.0.0.1:8000/codec",
    )
    at = command.index("--ui-codec-endpoint")
    assert command[at + 1] == "http://127.0.0.1:8000/codec"
    assert "--ui-codec-endpoint" not in dev_server_command(
        db_file=tmp_path / "t.db", port=7233, ui_port=8233
    )
