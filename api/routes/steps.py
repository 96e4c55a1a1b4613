"""The human steps of a journey as JSON routes, one per declaration that names a `path`
(domain/step_declarations.py): each authorizes its caller, takes the step (api/step_taking.py)
and answers the journey's status. The actor comes from the token; a step the journey refuses
is a 409 (422 for data it cannot apply, 403 for the wrong role)."""

import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Form, Path, UploadFile

from api.journey_access import VERSIONED
from api.problems import Responses, problems
from api.schemas import ContactDetails
from api.step_access import Answer, JourneyStep, JourneyStepDep
from api.step_taking import Documents, Numbered, take
from api.uploads import read_uploads
from domain.follow_up import FollowUpStatus
from domain.step_bodies import FollowUpOutcomeBody, WithdrawalBody
from domain.step_declarations import STEPS, StepDeclaration, StepName, Workflow
from domain.steps import DocumentKind

router = APIRouter(prefix="/journeys/{journey_id}")

STEP_ERRORS = problems(
    {
        401: "Missing or invalid token",
        403: "Wrong role, or another journey's link",
        404: "No such journey",
        409: "The journey refuses this step now",
        413: "Body too large",
        422: "Invalid data, each field named",
        503: "Temporal did not answer: read the status, retry",
        504: "The journey did not answer in time: read its status",
    }
)
# The journey's own steps answer with its status and its Journey-Version.
VERSIONED_STEP = {**STEP_ERRORS, **VERSIONED}
# Correcting the contact details touches PostgreSQL only: no journey to refuse or to wait on.
CONTACT_ERRORS = {
    **{k: v for k, v in STEP_ERRORS.items() if k not in (409, 503, 504)},
    **problems({410: "The patient's data was erased: nothing is changed"}),
}
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
# Steps whose routes take more than a JSON body: written out below.
OWN_ROUTES = frozenset({StepName.DOCUMENTS, StepName.FOLLOW_UP_OUTCOME})


def _answer(declaration: StepDeclaration) -> tuple[Any, Responses]:
    """What the step's route answers, and its documented refusals."""
    if declaration.name is StepName.CORRECT_CONTACT:
        return ContactDetails, CONTACT_ERRORS
    if declaration.workflow is Workflow.FOLLOW_UP:
        return FollowUpStatus, STEP_ERRORS
    return Answer, VERSIONED_STEP


def _body(declaration: StepDeclaration) -> inspect.Parameter | None:
    if declaration.body is None:
        return None
    if declaration.body is WithdrawalBody:
        # A withdrawal may be sent with no body: the patient's own request.
        return inspect.Parameter(
            "body", inspect.Parameter.KEYWORD_ONLY, annotation=WithdrawalBody | None, default=None
        )
    return inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=declaration.body)


def _declared_route(declaration: StepDeclaration) -> None:
    """A route for the step: its body parsed by the declared model, its caller authorized by
    the declared roles, the step taken; on a path naming a follow-up consult, on that one."""
    name = declaration.name
    assert declaration.path is not None
    numbered = "{number}" in declaration.path

    async def endpoint(step: JourneyStep, body: Any = None, number: int = 0) -> Any:
        return await take(name, step, Numbered(number, body) if numbered else body)

    answer, responses = _answer(declaration)
    step = inspect.Parameter(
        "step",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[JourneyStep, JourneyStepDep(name)],
    )
    body = _body(declaration)
    number = (
        inspect.Parameter(
            "number",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[int, Path(description="the follow-up consult, from 1")],
        )
        if numbered
        else None
    )
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [p for p in (number, body, step) if p is not None], return_annotation=answer
    )
    router.add_api_route(
        declaration.path,
        endpoint,
        methods=["POST"],
        name=name.value,
        summary=declaration.summary,
        tags=[declaration.tag],
        responses=responses,
        response_model=answer,
    )


for _declaration in STEPS.values():
    if _declaration.path is not None and _declaration.name not in OWN_ROUTES:
        _declared_route(_declaration)


def _own_route(name: StepName, responses: Responses) -> Callable[[Endpoint], Endpoint]:
    """The route of a step in `OWN_ROUTES`, at its declared path, summary and tag."""
    declaration = STEPS[name]
    assert declaration.path is not None
    return router.post(
        declaration.path, summary=declaration.summary, tags=[declaration.tag], responses=responses
    )


@_own_route(StepName.DOCUMENTS, VERSIONED_STEP)
async def documents(
    step: Annotated[JourneyStep, JourneyStepDep(StepName.DOCUMENTS)],
    kind: Annotated[DocumentKind, Form()],
    files: Annotated[list[UploadFile], File(description="PDF, JPEG, PNG, DICOM or ZIP")],
) -> Answer:
    """The files' types are read from their content; a declared type must agree with it."""
    uploads = await read_uploads(files, max_bytes=step.upload_bytes)
    answer: Answer = await take(
        StepName.DOCUMENTS, step, Documents([(kind, upload) for upload in uploads])
    )
    return answer


@_own_route(StepName.FOLLOW_UP_OUTCOME, STEP_ERRORS)
async def follow_up_outcome(
    number: int,
    body: FollowUpOutcomeBody,
    step: Annotated[JourneyStep, JourneyStepDep(StepName.FOLLOW_UP_OUTCOME)],
) -> FollowUpStatus:
    status: FollowUpStatus = await take(StepName.FOLLOW_UP_OUTCOME, step, Numbered(number, body))
    return status
