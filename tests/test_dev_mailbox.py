"""The development mailbox keeps patients' emails readable by their owner alone."""

import os
import smtplib
import stat
import warnings
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from devstack.mailbox import start_mailbox
from devstack.ports import free_port


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The permissive umask of many a developer's shell, so that the modes checked are the
    mailbox's own and not the test process's."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_messages_and_their_folder_are_private(tmp_path: Path) -> None:
    folder, port = tmp_path / "mail", free_port()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller = start_mailbox(folder, port=port)
    try:
        message = EmailMessage()
        message["From"], message["To"] = "journeys@example.org", "ana@example.org"
        message["Subject"] = "Your journey"
        message.set_content("Dear Ana García, ...")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
    finally:
        controller.stop()
    (kept,) = folder.glob("*.eml")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert "Ana García" in kept.read_text()


@pytest.mark.usefixtures("open_umask")
def test_an_existing_open_folder_is_closed(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir(mode=0o755)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller = start_mailbox(folder, port=free_port())
    controller.stop()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
