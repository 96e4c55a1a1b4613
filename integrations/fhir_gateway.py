"""The clinic's FHIR R4 server as a `ClinicGateway`.

Every resource gets an id derived from the journey id and is written with
`PUT [base]/[Type]/[id]` (update as create), so an activity that runs again updates what it
wrote the first time instead of booking the visit twice. The resources are built with the
R4B models of `fhir.resources`, which validate structure and cardinality before anything is
sent; R4B is the release of the R4 line that library ships, and these three resources are
the same in R4 and R4B.
"""

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fhir.resources.R4B.address import Address
from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient, PatientCommunication
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError

from integrations.clinic import (
    ClinicGateway,
    ClinicRejected,
    ClinicUnavailable,
    VisitRequest,
    VisitReservation,
)

FHIR_JSON = "application/fhir+json"
PATIENT_ID_SYSTEM = "urn:journeys:patient"
JOURNEY_ID_SYSTEM = "urn:journeys:journey"
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"
UCUM = "http://unitsofmeasure.org"
PROCEDURE_TEXT = (
    "Intrathecal transplantation of umbilical cord-tissue mesenchymal stem cells "
    "(at least 120 million cells), two-day visit"
)
DAY1_DESCRIPTION = "Day 1: admission and assessment"
DAY2_DESCRIPTION = "Day 2: intrathecal procedure (about 45 minutes)"

# Worth another try later; every other failure (400, 401, 403, 404, 405, 409, 410, 412, 422,
# or a redirect nobody configured) will be answered the same way next time.
UNAVAILABLE = frozenset({408, 429, 500, 502, 503, 504})
# The FHIR spec caps a logical id at 64 characters; fhir.resources allows 255, servers may not.
MAX_ID_LENGTH = 64
# Diagnostics are free text from the server; a bounded excerpt keeps a history entry small.
MAX_DIAGNOSTICS = 300
REDACTED = "[redacted]"


def _patient_id(journey_id: str) -> str:
    return _checked_id(f"journey-{journey_id}-patient")


def _visit(journey_id: str, visit_key: str) -> str:
    """The ids' stem of one of the journey's visits: the first one's as it always was."""
    return f"journey-{journey_id}-{visit_key}" if visit_key else f"journey-{journey_id}"


def _service_request_id(journey_id: str, visit_key: str = "") -> str:
    return _checked_id(f"{_visit(journey_id, visit_key)}-msc")


def _appointment_ids(journey_id: str, visit_key: str = "") -> list[str]:
    return [_checked_id(f"{_visit(journey_id, visit_key)}-day{n}") for n in (1, 2)]


def _checked_id(resource_id: str) -> str:
    if len(resource_id) > MAX_ID_LENGTH or not re.fullmatch(r"[A-Za-z0-9\-.]+", resource_id):
        # A journey id that cannot make a FHIR id is a bug upstream, not a clinic answer.
        raise ValueError(f"{resource_id!r} is not a valid FHIR logical id")
    return resource_id


class FhirClinicGateway(ClinicGateway):
    """Books the two-day visit as a Patient, a ServiceRequest and two Appointments.

    The httpx client is handed in (its timeouts, TLS and transport are the caller's), and the
    bearer token, when given, goes on every request.
    """

    def __init__(
        self, *, base_url: str, http: httpx.AsyncClient, bearer_token: str | None = None
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._http = http
        self._headers = {"Accept": FHIR_JSON}
        if bearer_token is not None:
            self._headers["Authorization"] = f"Bearer {bearer_token}"
        self._write_headers = {**self._headers, "Content-Type": FHIR_JSON}

    async def reserve_visit(self, request: VisitRequest) -> VisitReservation:
        # Referenced before referring: a server that checks references finds each target.
        await self._put(_patient(request), phi=_phi(request))
        return await self._put_visit(request)

    async def change_visit(self, request: VisitRequest) -> VisitReservation:
        return await self._put_visit(request)

    async def cancel_visit(self, journey_id: str, visit_key: str = "") -> None:
        """Cancel both Appointments, then revoke the ServiceRequest.

        Each resource is read first and written back with only its status changed: cancelling
        knows no times or patient details, and a cancelled Appointment should still say which
        slot it freed. A resource that is not there (404, or 410 once deleted) has nothing to
        cancel; neither has a server that refuses a PUT to an id it never held.
        """
        for appointment_id in _appointment_ids(journey_id, visit_key):
            await self._set_status(Appointment, appointment_id, "cancelled")
        await self._set_status(
            ServiceRequest, _service_request_id(journey_id, visit_key), "revoked"
        )

    async def _put_visit(self, request: VisitRequest) -> VisitReservation:
        phi = _phi(request)
        await self._put(_service_request(request), phi=phi)
        statuses = [await self._put(a, phi=phi) for a in _appointments(request)]
        # A clinic that confirms by hand may keep the Appointment as proposed or pending.
        booked = all(s in (None, "booked") for s in statuses)
        return VisitReservation(
            reference=_service_request_id(request.journey_id, request.visit_key),
            appointment_ids=_appointment_ids(request.journey_id, request.visit_key),
            status="booked" if booked else "pending",
        )

    async def _put(
        self, resource: Patient | ServiceRequest | Appointment, *, phi: Sequence[str]
    ) -> str | None:
        """Write the resource at its own id; the status the server answered with, if any."""
        path = f"{resource.get_resource_type()}/{resource.id}"
        response = await self._send("PUT", path, content=resource.model_dump_json())
        _raise_for_status(response, "PUT", path, phi=phi)
        answer = _json_object(response)
        status = answer.get("status") if answer else None
        return status if isinstance(status, str) else None

    async def _set_status(
        self, model: type[ServiceRequest] | type[Appointment], resource_id: str, status: str
    ) -> None:
        path = f"{model.get_resource_type()}/{resource_id}"
        response = await self._send("GET", path)
        if response.status_code in (404, 410):
            return
        _raise_for_status(response, "GET", path, phi=())
        try:
            resource = model.model_validate_json(response.content)
        except ValidationError as err:
            # Locations only: the values are the clinic's data and may be personal.
            where = sorted({".".join(str(p) for p in e["loc"]) for e in err.errors()})
            raise ClinicRejected(
                f"clinic FHIR server answered GET {path} with a body that is not a valid "
                f"R4 {model.get_resource_type()} (at {', '.join(where)})"
            ) from None
        if resource.status == status:
            return
        resource.status = status
        response = await self._send("PUT", path, content=resource.model_dump_json())
        if response.status_code == 404:
            return
        _raise_for_status(response, "PUT", path, phi=())

    async def _send(self, method: str, path: str, *, content: str | None = None) -> httpx.Response:
        try:
            return await self._http.request(
                method,
                f"{self._base_url}/{path}",
                content=content,
                headers=self._headers if content is None else self._write_headers,
            )
        except httpx.TransportError as err:
            raise ClinicUnavailable(
                f"clinic FHIR server unreachable for {method} {path}: {type(err).__name__}"
            ) from err


def _patient(request: VisitRequest) -> Patient:
    given, family = _name_parts(request.full_name)
    return Patient(
        id=_patient_id(request.journey_id),
        identifier=[Identifier(system=PATIENT_ID_SYSTEM, value=request.patient_id)],
        name=[HumanName(text=request.full_name, family=family, given=[*given] or None)],
        telecom=[
            ContactPoint(system="email", value=str(request.email)),
            ContactPoint(system="phone", value=request.phone),
        ],
        address=[Address(country=request.country)],
        communication=[
            PatientCommunication(
                language=CodeableConcept(
                    coding=[Coding(system=LANGUAGE_SYSTEM, code=request.preferred_language)]
                ),
                preferred=True,
            )
        ],
    )


def _name_parts(full_name: str) -> tuple[list[str], str | None]:
    """Given names and family name, guessed from one free-text name.

    The last word is taken as the family name. That is wrong for many names (two Spanish
    surnames, family-name-first orders), which is why `HumanName.text` carries the name as
    written and is the one to trust; a single word is left unsplit rather than guessed.
    """
    words = full_name.split()
    if len(words) < 2:
        return [], None
    return words[:-1], words[-1]


def _service_request(request: VisitRequest) -> ServiceRequest:
    return ServiceRequest(
        id=_service_request_id(request.journey_id, request.visit_key),
        identifier=[Identifier(system=JOURNEY_ID_SYSTEM, value=request.journey_id)],
        status="active",
        intent="order",
        code=CodeableConcept(text=PROCEDURE_TEXT),
        quantityQuantity=Quantity(
            value=Decimal(request.cells_target), unit="cells", system=UCUM, code="{cells}"
        ),
        subject=Reference(reference=f"Patient/{_patient_id(request.journey_id)}"),
        occurrencePeriod=Period(start=request.day1_start, end=request.day2_end),
    )


def _appointments(request: VisitRequest) -> list[Appointment]:
    # Adding a day keeps the wall-clock hour in the caller's zone, even across a DST change:
    # day 2 starts at day 1's hour, and day 1 ends at day 2's.
    day2_start = request.day1_start + timedelta(days=1)
    day1_end = request.day2_end - timedelta(days=1)
    times: list[tuple[datetime, datetime, str]] = [
        (request.day1_start, day1_end, DAY1_DESCRIPTION),
        (day2_start, request.day2_end, DAY2_DESCRIPTION),
    ]
    patient = Reference(reference=f"Patient/{_patient_id(request.journey_id)}")
    order = Reference(
        reference=f"ServiceRequest/{_service_request_id(request.journey_id, request.visit_key)}"
    )
    return [
        Appointment(
            id=appointment_id,
            status="booked",
            description=description,
            start=start,
            end=end,
            basedOn=[order],
            participant=[AppointmentParticipant(actor=patient, status="accepted")],
        )
        for appointment_id, (start, end, description) in zip(
            _appointment_ids(request.journey_id, request.visit_key), times, strict=True
        )
    ]


def _phi(request: VisitRequest) -> list[str]:
    """What must never appear in an error message: the name, its words, email and phone."""
    phone_digits = request.phone.lstrip("+")
    return [
        request.full_name,
        *request.full_name.split(),
        str(request.email),
        request.phone,
        phone_digits,
    ]


def _raise_for_status(
    response: httpx.Response, method: str, path: str, *, phi: Sequence[str]
) -> None:
    code = response.status_code
    if 200 <= code < 300:
        return
    message = f"clinic FHIR server answered {code} to {method} {path}: {_issues(response, phi=phi)}"
    # An unlisted 5xx is the server's own trouble too, and may pass.
    if code in UNAVAILABLE or code >= 500:
        raise ClinicUnavailable(message)
    raise ClinicRejected(message)


def _issues(response: httpx.Response, *, phi: Sequence[str]) -> str:
    """The OperationOutcome's issues as `severity code: diagnostics`, with any PHI removed.

    Servers echo submitted values in their diagnostics, so whatever of the patient's details
    we sent is cut out before the text can reach a message.
    """
    body = _json_object(response)
    if body is None or body.get("resourceType") != "OperationOutcome":
        return "no OperationOutcome in the answer"
    try:
        outcome = OperationOutcome.model_validate(body)
        issues = [(i.severity, i.code, i.diagnostics) for i in outcome.issue]
    except ValidationError:
        # The models refuse unknown elements (an R5 server's, a vendor's); the issues that
        # explain the failure are still worth reading from the raw JSON.
        raw = body.get("issue")
        issues = [
            (i.get("severity"), i.get("code"), i.get("diagnostics"))
            for i in (raw if isinstance(raw, list) else [])
            if isinstance(i, dict)
        ]
    if not issues:
        return "OperationOutcome without issues"
    parts = []
    for severity, code, diagnostics in issues:
        text = f"{severity} {code}"
        if diagnostics:
            text += f": {_redact(str(diagnostics), phi)[:MAX_DIAGNOSTICS]}"
        parts.append(text)
    return "; ".join(parts)


def _redact(text: str, phi: Sequence[str]) -> str:
    # Longest first, so the full name goes before its words can break it up.
    for value in sorted({v for v in phi if v}, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", REDACTED, text, flags=re.IGNORECASE)
    return text


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
