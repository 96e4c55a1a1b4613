"""Emails from templates, in the recipient's language with a fallback to English.

One template per notification, `email_templates/<kind>.txt`, for every language: its texts are
`{% trans %}` blocks that the language's catalogue translates (`i18n/`). A first line
`Subject: …`, a blank line, then the plain-text body. The HTML part is the same text laid out
by `email_templates/layout.html`, escaped, so the two parts never say different things.

The environment trims the newline after every block tag, so a line holding only `{% if %}` or
`{% endfor %}` leaves nothing behind, as in any text template. A `{% trans %}` block that ends
a line therefore closes with `{% endtrans +%}`: the `+` keeps that line's break.
"""

import email.utils
import functools
from email.message import EmailMessage
from importlib import resources
from typing import Any

from jinja2 import FunctionLoader, StrictUndefined, select_autoescape

from i18n import LocalizedEnvironments, resolve


@functools.cache
def _load(name: str) -> str | None:
    # Package data: it cannot change while the worker runs, and every email asks for it.
    path = resources.files("activities").joinpath("email_templates", *name.split("/"))
    return path.read_text(encoding="utf-8") if path.is_file() else None


def has_template(kind: str) -> bool:
    return _load(f"{kind}.txt") is not None


class MessageComposer:
    """Renders a notification's subject, plain-text and HTML parts into one message."""

    def __init__(self, *, sender: str) -> None:
        self._sender = sender
        self._environments = LocalizedEnvironments(
            FunctionLoader(_load),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def language_for(self, language: str) -> str:
        """The language the message will be written in: the wished one if a catalogue has it."""
        return resolve(language)

    def render(self, kind: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
        """(language, subject, plain text) of a notification."""
        lang = self.language_for(language)
        rendered = self._environments(lang).get_template(f"{kind}.txt").render(context)
        head, _, body = rendered.partition("\n\n")
        if not head.startswith("Subject:"):
            raise ValueError(f"template {kind}.txt must start with a Subject: line")
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
        html = (
            self._environments(lang)
            .get_template("layout.html")
            .render(subject=subject, paragraphs=paragraphs)
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
