"""The form token of the patient's page: every form it shows carries one, and every POST to it
must send it back.

The page has no session: the link's token authenticates each request, and a browser never sends
it on its own, so another site cannot act through a patient's browser without it. The form
token is the belt to that brace the house style asks of every form: an HMAC, under the link
secret, of the link's token and its journey, in a hidden field. It needs no state on the server
and no cookie on what may be a shared device, holds across the patient's tabs, and dies with
the link when it expires or is revoked. A double-submit cookie would add a cookie and nothing
the link does not already give.
"""

import hashlib
import hmac

from settings import Settings

FIELD = "form_token"
_PURPOSE = b"patient-page-form"


def form_token(settings: Settings, *, link_token: str, journey_id: str) -> str:
    key = settings.link_secret.get_secret_value().encode()
    message = b"\0".join((_PURPOSE, journey_id.encode(), link_token.encode()))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def form_token_ok(settings: Settings, *, link_token: str, journey_id: str, sent: str) -> bool:
    expected = form_token(settings, link_token=link_token, journey_id=journey_id)
    return hmac.compare_digest(expected, sent)
