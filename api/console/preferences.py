"""The console's language switch: the choice is kept in the session, for this browser only,
and outlives a sign-out and the next sign-in."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from api.console.guards import console_gate
from api.console.session import CONSOLE_PATH, session_state
from i18n import supported_languages

router = APIRouter(prefix="/staff", dependencies=[Depends(console_gate)], include_in_schema=False)


def back_to(target: object) -> str:
    """Where to go after switching: a console page of this site, else the worklist (never
    another site, however the field was filled in)."""
    if (
        isinstance(target, str)
        and target.startswith(CONSOLE_PATH + "/")
        and not target.startswith("//")
        and "\\" not in target
        and len(target) <= 2000
    ):
        return target
    return CONSOLE_PATH + "/"


@router.post("/language")
async def switch_language(request: Request) -> RedirectResponse:
    form = await request.form()
    language = form.get("language")
    if isinstance(language, str) and language in supported_languages():
        state = session_state(request.scope)
        session = state.ensure()
        session.language = language
        state.changed = True
    return RedirectResponse(back_to(form.get("next")), status_code=303)
