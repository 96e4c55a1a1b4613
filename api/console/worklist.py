"""The worklist at `/staff/`: the journeys waiting on the signed-in person or their role first,
overdue first, with filters in a plain GET form (no JavaScript), counts per stage, and pages.

The list is `api.reads.worklist.read_worklist`, the read behind `GET /api/v1/journeys`.
"""

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import QueryParams

from api.console.claim_panel import may_claim_row
from api.console.guards import DIRECTORY_PATH, ViewerDep, console_gate
from api.console.rendering import render
from api.console.wording import Wording
from api.deps import PoolDep, SettingsDep
from api.reads.worklist import read_worklist
from db.worklist import WorklistRepository
from domain.incidents import IncidentKind
from domain.readers import KEEPS_STAFF_DIRECTORY, SEES_PATIENT
from domain.stages import Stage, WaitingOn
from domain.worklist import IncidentFilter, IncidentPresence, WorklistFilter
from i18n import country_name

router = APIRouter(prefix="/staff", dependencies=[Depends(console_gate)], include_in_schema=False)

PAGE_SIZE = 25
MAX_PAGE = 10_000
FILTERS = ("stage", "waiting_on", "overdue", "case_manager", "country", "incident", "reassign")
YES_NO = {"yes": True, "no": False}


@dataclass
class ParsedFilters:
    """The filters a request asked for: what was understood, and the names of what was not
    (shown on the page and left out, rather than refusing the whole list)."""

    filters: WorklistFilter
    chosen: dict[str, str] = field(default_factory=dict)
    not_understood: list[str] = field(default_factory=list)
    page: int = 1


def _incident(value: str) -> IncidentFilter:
    if value in {p.value for p in IncidentPresence}:
        return IncidentPresence(value)
    return IncidentKind(value)


def parse_filters(query: QueryParams) -> ParsedFilters:
    values: dict[str, object] = {}
    chosen: dict[str, str] = {}
    bad: list[str] = []
    for name in FILTERS:
        raw = (query.get(name) or "").strip()
        if not raw:
            continue
        try:
            if name == "stage":
                values[name] = Stage(raw)
            elif name == "waiting_on":
                values[name] = WaitingOn(raw)
            elif name in ("overdue", "reassign"):
                values[name] = YES_NO[raw]
            elif name == "incident":
                values[name] = _incident(raw)
            elif name == "country":
                if len(raw) != 2 or not raw.isalpha():
                    raise ValueError(raw)
                raw = raw.upper()
                values[name] = raw
            elif len(raw) <= 120:
                values[name] = raw
            else:
                raise ValueError(name)
        except (KeyError, ValueError):
            bad.append(name)
            continue
        chosen[name] = raw
    page_text = query.get("page") or "1"
    page = int(page_text) if page_text.isdigit() and 1 <= int(page_text) <= MAX_PAGE else 1
    if page_text != "1" and str(page) != page_text:
        bad.append("page")
    return ParsedFilters(WorklistFilter.model_validate(values), chosen, bad, page)


def _link(chosen: dict[str, str], **changes: object) -> str:
    """The worklist's address with these filters, changed as asked (None removes one)."""
    query = {**chosen, **{k: str(v) for k, v in changes.items() if v is not None}}
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
    return "/staff/" + (f"?{urlencode(query)}" if query else "")


@functools.cache
def filter_options(language: str) -> dict[str, list[tuple[str, str]]]:
    """The choices of the coded filters, as (value, label) in `language`: the same on every
    page view, so worded once."""
    words = Wording(language)
    return {
        "stage": [(s.value, words.stage(s)) for s in Stage],
        "waiting_on": [(w.value, words.waiting_on(w)) for w in WaitingOn],
        "incident": [(k.value, words.incident(k)) for k in IncidentKind],
    }


@router.get("/", response_class=HTMLResponse)
async def worklist(
    request: Request, viewer: ViewerDep, pool: PoolDep, settings: SettingsDep
) -> Response:
    if viewer.principal.actor.role in KEEPS_STAFF_DIRECTORY:
        # Staff administrators read no journey: their console is the directory.
        return RedirectResponse(DIRECTORY_PATH, status_code=303)
    parsed = parse_filters(request.query_params)
    now = datetime.now(UTC)
    page = await read_worklist(
        pool,
        viewer.principal,
        parsed.filters,
        now=now,
        limit=PAGE_SIZE,
        offset=(parsed.page - 1) * PAGE_SIZE,
        claim_lapse=settings.claim_lapse,
    )
    async with pool.acquire() as conn:
        choices = await WorklistRepository(conn).choices()
    chosen = parsed.chosen
    last_page = max(1, -(-page.total // PAGE_SIZE))
    return render(
        request,
        "worklist.html",
        {
            "page": page,
            "chosen": chosen,
            "not_understood": parsed.not_understood,
            "number": parsed.page,
            "last_page": last_page,
            "first_shown": page.offset + 1 if page.items else 0,
            "last_shown": page.offset + len(page.items),
            "previous_link": _link(chosen, page=parsed.page - 1 if parsed.page > 2 else None)
            if parsed.page > 1
            else None,
            "next_link": _link(chosen, page=parsed.page + 1) if parsed.page < last_page else None,
            "stage_links": [
                (stage, page.stages.get(stage, 0), _link(chosen, stage=stage.value, page=None))
                for stage in Stage
            ],
            "all_stages_link": _link(chosen, stage=None, page=None),
            "options": {
                **filter_options(viewer.language),
                "case_manager": choices.case_managers,
                "country": sorted(
                    ((code, country_name(code, viewer.language)) for code in choices.countries),
                    key=lambda option: option[1],
                ),
            },
            "sees_patient": viewer.principal.actor.role in SEES_PATIENT,
            # The rows whose work of the viewer's kind is open and unclaimed: a claim button.
            "claimable": {
                item.journey_id
                for item in page.items
                if may_claim_row(
                    viewer.principal.actor, item.stage, item.incident is not None, item.claims
                )
            },
            "now": now,
        },
        viewer=viewer,
    )
