"""Emails from templates, in the recipient's language with a fallback to English.

One template per notification and language, `email_templates/<lang>/<kind>.txt`: a first line
`Subject: …`, a blank line, then the plain-text body. The HTML part is the same text laid out
by `email_templates/layout.html`, escaped, so the two parts never say different things.
"""

import email.utils
import functools
from email.message import EmailMessage
from importlib import resources
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined, select_autoescape

FALLBACK_LANGUAGE = "en"


@functools.cache
def _load(name: str) -> str | None:
    # Package data: it cannot change while the worker runs, and every email asks for it.
    path = resources.files("activities").joinpath("email_templates", *name.split("/"))
    return path.read_text(encoding="utf-8") if path.is_file() else None


def has_template(kind: str, language: str) -> bool:
    return _load(f"{language}/{kind}.txt") is not None


class MessageComposer:
    """Renders a notification's subject, plain-text and HTML parts into one message."""

    def __init__(self, *, sender: str) -> None:
        self._sender = sender
        self._env = Environment(
            loader=FunctionLoader(_load),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def language_for(self, kind: str, language: str) -> str:
        """The language the message will be written in: the wished one if we have it."""
        return language if has_template(kind, language) else FALLBACK_LANGUAGE

    def render(self, kind: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
        """(language, subject, plain text) of a notification."""
        lang = self.language_for(kind, language)
        rendered = self._env.get_template(f"{lang}/{kind}.txt").render(context)
        head, _, body = rendered.partition("\n\n")
        if not head.startswith("Subject:"):
            raise ValueError(f"template {lang}/{kind}.txt must start with a Subject: line")
        return lang, head.removeprefix("Subject:").strip(), body.strip() + "\n"

    def compose(
        self,
        *,
        kind: str,
        language: str,
        to: str,
        message_id: str,
        context: dict[str, Any],
        reply_to: str | None = None,
    ) -> EmailMessage:
        lang, subject, text = self.render(kind, language, context)
        paragraphs = [p.splitlines() for p in text.split("\n\n") if p.strip()]
        html = self._env.get_template("layout.html").render(
            lang=lang, subject=subject, paragraphs=paragraphs
        )
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self._sender
        message["To"] = to
        message["Message-ID"] = message_id
        message["Date"] = email.utils.formatdate(localtime=False)
        if reply_to:
            message["Reply-To"] = reply_to
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        # After the parts: setting content clears every Content-* header set before it.
        message["Content-Language"] = lang
        return message
