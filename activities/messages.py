"""Emails from templates, in the recipient's language with a fallback to English."""

import email.utils
from email.message import EmailMessage
from importlib import resources

from jinja2 import Environment, FunctionLoader, StrictUndefined, select_autoescape

FALLBACK_LANGUAGE = "en"


def _load(name: str) -> str | None:
    path = resources.files("activities").joinpath("email_templates", *name.split("/"))
    return path.read_text(encoding="utf-8") if path.is_file() else None


class MessageComposer:
    """Renders a notification's subject, plain-text and HTML parts into one message."""

    def __init__(self, *, sender: str) -> None:
        self._sender = sender
        self._env = Environment(
            loader=FunctionLoader(_load),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            keep_trailing_newline=True,
        )

    def languages_for(self, kind: str, language: str) -> str:
        """The language the message will be written in: the wished one if we have it."""
        return language if _load(f"{language}/{kind}.txt") is not None else FALLBACK_LANGUAGE

    def compose(
        self,
        *,
        kind: str,
        language: str,
        to: str,
        message_id: str,
        context: dict[str, str],
        reply_to: str | None = None,
    ) -> EmailMessage:
        lang = self.languages_for(kind, language)
        render = lambda part: self._env.get_template(f"{lang}/{kind}.{part}").render(context)  # noqa: E731
        message = EmailMessage()
        message["Subject"] = render("subject").strip()
        message["From"] = self._sender
        message["To"] = to
        message["Message-ID"] = message_id
        message["Date"] = email.utils.formatdate(localtime=False)
        if reply_to:
            message["Reply-To"] = reply_to
        message.set_content(render("txt"))
        message.add_alternative(render("html"), subtype="html")
        # After the parts: setting content clears every Content-* header set before it.
        message["Content-Language"] = lang
        return message
