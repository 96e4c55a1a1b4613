"""The FHIR clinic gateway: what it sends, that a retry repeats it, and how failures map.

There is no FHIR server in the local stack, so `httpx.MockTransport` stands in for one: the
server is not the subject here, the adapter is. Every body is parsed back with the R4B models
of `fhir.resources`, as the clinic's server would validate it.
"""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError

from integrations.clinic import (
    ClinicRejected,
    ClinicUnavailable,
    VisitRequest,
    VisitReservation,
)
from integrations.fhir_gateway import FhirClinicGateway

BASE = "https://fhir.clinic.test/r4"
TOKEN = "test-token"
JOURNEY = "6f1c2e0a-8a43-4c39-9d0e-3b7f5d2a9c11"
PATIENT = "0d9e8f7a-1b2c-4d3e-8f90-a1b2c3d4e5f6"
NAME = "Zephyrine Quillfeather"
EMAIL = "zq.sentinel@example.org"
PHONE = "+34699000111"
MADRID = ZoneInfo("Europe/Madrid")
# The night of 29 to 30 March 2025 moves Madrid's clocks forward: day 2 still starts at 9:00.
DAY1 = datetime(2025, 3, 29, 9, 0, tzinfo=MADRID)
DAY2_END = datetime(2025, 3, 30, 16, 0, tzinfo=MADRID)

PATIENT_URL = f"{BASE}/Patient/journey-{JOURNEY}-patient"
ORDER_URL = f"{BASE}/ServiceRequest/journey-{JOURNEY}-msc"
DAY1_URL = f"{BASE}/Appointment/journey-{JOURNEY}-day1"
DAY2_URL = f"{BASE}/Appointment/journey-{JOURNEY}-day2"

Handler = Callable[[httpx.Request], httpx.Response]


def visit(**changes: object) -> VisitRequest:
    fields: dict[str, object] = {
        "journey_id": JOURNEY,
        "patient_id": PATIENT,
        "full_name": NAME,
        "email": EMAIL,
        "phone": "+34 699 000 111",
        "country": "ES",
        "preferred_language": "es",
        "day1_start": DAY1,
        "day2_end": DAY2_END,
    }
    return VisitRequest.model_validate(fields | changes)


class FhirServer:
    """Keeps what is PUT and answers GETs with it, recording every request it is sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.stored: dict[str, bytes] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if request.method == "PUT":
            created = url not in self.stored
            self.stored[url] = request.content
            return fhir_response(201 if created else 200, request.content)
        if request.method == "GET" and url in self.stored:
            return fhir_response(200, self.stored[url])
        return fhir_response(404, outcome("error", "not-found", "Resource is not known"))

    def puts(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "PUT"]


def fhir_response(status: int, body: bytes) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"Content-Type": "application/fhir+json"})


def outcome(severity: str, code: str, diagnostics: str) -> bytes:
    return json.dumps(
        {
            "resourceType": "OperationOutcome",
            "text": {
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>See issues</p></div>',
            },
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
        }
    ).encode()


def gateway(handler: Handler, *, token: str | None = TOKEN) -> FhirClinicGateway:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return FhirClinicGateway(base_url=f"{BASE}/", http=http, bearer_token=token)


async def test_reserve_puts_each_resource_at_its_own_id_as_valid_r4() -> None:
    server = FhirServer()

    reservation = await gateway(server).reserve_visit(visit())

    assert reservation == VisitReservation(
        reference=f"journey-{JOURNEY}-msc",
        appointment_ids=[f"journey-{JOURNEY}-day1", f"journey-{JOURNEY}-day2"],
        status="booked",
    )
    # Referenced before referring, so a server that checks references accepts each one.
    assert [(r.method, str(r.url)) for r in server.requests] == [
        ("PUT", PATIENT_URL),
        ("PUT", ORDER_URL),
        ("PUT", DAY1_URL),
        ("PUT", DAY2_URL),
    ]
    for r in server.requests:
        assert r.headers["Content-Type"] == "application/fhir+json"
        assert r.headers["Accept"] == "application/fhir+json"
        assert r.headers["Authorization"] == f"Bearer {TOKEN}"
    bodies = [json.loads(r.content) for r in server.requests]
    assert [b["resourceType"] for b in bodies] == [
        "Patient",
        "ServiceRequest",
        "Appointment",
        "Appointment",
    ]
    for r, body in zip(server.requests, bodies, strict=True):
        assert str(r.url).endswith(f"/{body['resourceType']}/{body['id']}")

    patient = Patient.model_validate_json(server.requests[0].content)
    assert [(i.system, i.value) for i in patient.identifier or []] == [
        ("urn:journeys:patient", PATIENT)
    ]
    [name] = patient.name or []
    assert (name.text, name.family, name.given) == (NAME, "Quillfeather", ["Zephyrine"])
    assert {(t.system, t.value) for t in patient.telecom or []} == {
        ("email", EMAIL),
        ("phone", PHONE),
    }
    assert [a.country for a in patient.address or []] == ["ES"]
    [language] = patient.communication or []
    assert [c.code for c in language.language.coding or []] == ["es"]

    order = ServiceRequest.model_validate_json(server.requests[1].content)
    assert (order.status, order.intent) == ("active", "order")
    assert order.subject.reference == f"Patient/journey-{JOURNEY}-patient"
    assert order.code is not None and order.code.text == (
        "Intrathecal transplantation of umbilical cord-tissue mesenchymal stem cells "
        "(at least 120 million cells), two-day visit"
    )
    assert order.quantityQuantity is not None
    assert (order.quantityQuantity.value, order.quantityQuantity.unit) == (120_000_000, "cells")
    assert [(i.system, i.value) for i in order.identifier or []] == [
        ("urn:journeys:journey", JOURNEY)
    ]
    assert order.occurrencePeriod is not None
    assert (order.occurrencePeriod.start, order.occurrencePeriod.end) == (DAY1, DAY2_END)

    day1, day2 = (Appointment.model_validate_json(r.content) for r in server.requests[2:])
    for appointment in (day1, day2):
        assert appointment.status == "booked"
        assert [b.reference for b in appointment.basedOn or []] == [
            f"ServiceRequest/journey-{JOURNEY}-msc"
        ]
        [participant] = appointment.participant
        assert participant.actor is not None
        assert participant.actor.reference == f"Patient/journey-{JOURNEY}-patient"
        assert participant.status == "accepted"
    # Day 1 ends at the hour day 2 ends, on the clinic's clock.
    assert (day1.start, day1.end) == (DAY1, datetime(2025, 3, 29, 16, 0, tzinfo=MADRID))
    assert day1.description == "Day 1: admission and assessment"
    assert day2.start == datetime(2025, 3, 30, 9, 0, tzinfo=MADRID)
    assert day2.end == DAY2_END
    assert day2.description == "Day 2: intrathecal procedure (about 45 minutes)"


async def test_reserving_twice_sends_the_same_resources_to_the_same_ids() -> None:
    server = FhirServer()
    clinic = gateway(server)

    first = await clinic.reserve_visit(visit())
    second = await clinic.reserve_visit(visit())

    assert first == second
    sent = [(r.method, str(r.url), r.content) for r in server.requests]
    assert sent[:4] == sent[4:]
    assert len(server.stored) == 4


async def test_no_authorization_header_without_a_token() -> None:
    server = FhirServer()

    await gateway(server, token=None).reserve_visit(visit())

    assert [("Authorization" in r.headers) for r in server.requests] == [False] * 4


async def test_a_clinic_that_keeps_appointments_proposed_gives_a_pending_reservation() -> None:
    def confirms_by_hand(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["resourceType"] == "Appointment":
            body["status"] = "proposed"
        return fhir_response(201, json.dumps(body).encode())

    reservation = await gateway(confirms_by_hand).reserve_visit(visit())

    assert reservation.status == "pending"


async def test_change_visit_rewrites_the_order_and_both_appointments_with_the_new_times() -> None:
    server = FhirServer()
    clinic = gateway(server)
    await clinic.reserve_visit(visit())
    server.requests.clear()
    later = DAY1 + timedelta(days=14, hours=-1)
    later_end = DAY2_END + timedelta(days=14)

    reservation = await clinic.change_visit(visit(day1_start=later, day2_end=later_end))

    assert reservation.status == "booked"
    assert [(r.method, str(r.url)) for r in server.requests] == [
        ("PUT", ORDER_URL),
        ("PUT", DAY1_URL),
        ("PUT", DAY2_URL),
    ]
    order = ServiceRequest.model_validate_json(server.requests[0].content)
    assert order.occurrencePeriod is not None
    assert (order.occurrencePeriod.start, order.occurrencePeriod.end) == (later, later_end)
    day1, day2 = (Appointment.model_validate_json(r.content) for r in server.requests[1:])
    assert (day1.start, day1.end) == (later, later_end - timedelta(days=1))
    assert (day2.start, day2.end) == (later + timedelta(days=1), later_end)


async def test_cancel_visit_cancels_the_appointments_and_revokes_the_order() -> None:
    server = FhirServer()
    clinic = gateway(server)
    await clinic.reserve_visit(visit())
    server.requests.clear()

    await clinic.cancel_visit(JOURNEY)

    assert [(r.method, str(r.url)) for r in server.puts()] == [
        ("PUT", DAY1_URL),
        ("PUT", DAY2_URL),
        ("PUT", ORDER_URL),
    ]
    for r in server.puts():
        assert r.headers["Content-Type"] == "application/fhir+json"
    day1, day2 = (Appointment.model_validate_json(r.content) for r in server.puts()[:2])
    assert (day1.status, day2.status) == ("cancelled", "cancelled")
    # The cancelled Appointment still says which slot it freed.
    assert (day1.start, day2.end) == (DAY1, DAY2_END)
    order = ServiceRequest.model_validate_json(server.puts()[2].content)
    assert order.status == "revoked"

    server.requests.clear()
    await clinic.cancel_visit(JOURNEY)
    assert server.puts() == []


async def test_cancel_visit_when_nothing_was_booked_is_not_an_error() -> None:
    server = FhirServer()

    await gateway(server).cancel_visit(JOURNEY)

    assert [(r.method, str(r.url)) for r in server.requests] == [
        ("GET", DAY1_URL),
        ("GET", DAY2_URL),
        ("GET", ORDER_URL),
    ]


async def test_cancel_visit_on_a_server_that_refuses_a_put_it_cannot_match_is_fine() -> None:
    server = FhirServer()
    await gateway(server).reserve_visit(visit())

    refused: list[str] = []

    def no_update(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return server(request)
        refused.append(str(request.url))
        return fhir_response(404, outcome("error", "not-found", "Resource was removed"))

    await gateway(no_update).cancel_visit(JOURNEY)

    assert refused == [DAY1_URL, DAY2_URL, ORDER_URL]


async def test_cancel_visit_when_the_clinic_is_down_is_unavailable() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return fhir_response(503, outcome("error", "transient", "Database failover in progress"))

    with pytest.raises(ClinicUnavailable, match=r"503.*Database failover in progress"):
        await gateway(down).cancel_visit(JOURNEY)


# A realistic OperationOutcome for each answer; the diagnostics are what the message must name.
ANSWERS: list[tuple[int, str, str, type[Exception]]] = [
    (400, "structure", "HAPI-0450: Failed to parse request body as JSON resource", ClinicRejected),
    (401, "login", "Bearer token has expired", ClinicRejected),
    (403, "forbidden", "Scope user/Appointment.write is not granted", ClinicRejected),
    (404, "not-found", "HAPI-2001: Resource Patient/journey-x is not known", ClinicRejected),
    (405, "not-supported", "Update as create is not allowed for Appointment", ClinicRejected),
    (409, "conflict", "HAPI-0550: Resource was modified by another transaction", ClinicRejected),
    (410, "deleted", "HAPI-2244: Resource was deleted at 2025-03-01T10:00:00Z", ClinicRejected),
    (412, "conflict", "HAPI-0989: If-Match version 3 does not match current 4", ClinicRejected),
    (422, "invariant", "app-3: Only proposed or cancelled may lack a start", ClinicRejected),
    (408, "timeout", "Request took too long to complete", ClinicUnavailable),
    (429, "throttled", "Rate limit of 100 requests per minute exceeded", ClinicUnavailable),
    (500, "exception", "HAPI-0389: Failed to call access method: NPE", ClinicUnavailable),
    (502, "transient", "Upstream FHIR store did not answer", ClinicUnavailable),
    (503, "transient", "Server is in maintenance until 02:00 UTC", ClinicUnavailable),
    (504, "timeout", "Upstream FHIR store timed out after 30 s", ClinicUnavailable),
]


def assert_no_phi(message: str) -> None:
    for needle in (NAME, "Zephyrine", "Quillfeather", EMAIL, PHONE, "+34 699 000 111", "699000111"):
        assert needle.lower() not in message.lower()


@pytest.mark.parametrize(
    ("status", "code", "diagnostics", "error"), ANSWERS, ids=[str(a[0]) for a in ANSWERS]
)
async def test_each_failure_answer_maps_to_rejected_or_unavailable(
    status: int, code: str, diagnostics: str, error: type[Exception]
) -> None:
    def failing(request: httpx.Request) -> httpx.Response:
        return fhir_response(status, outcome("error", code, diagnostics))

    with pytest.raises(error) as raised:
        await gateway(failing).reserve_visit(visit())

    message = str(raised.value)
    assert str(status) in message
    assert code in message
    assert diagnostics in message
    assert_no_phi(message)


async def test_patient_details_echoed_in_diagnostics_are_cut_from_the_message() -> None:
    echoed = (
        f"Patient.name[0].text: '{NAME}' too long; Patient.telecom[0].value '{EMAIL}' "
        f"bounced; Patient.telecom[1].value {PHONE} unreachable; family QUILLFEATHER"
    )

    def echoing(request: httpx.Request) -> httpx.Response:
        return fhir_response(422, outcome("error", "value", echoed))

    with pytest.raises(ClinicRejected) as raised:
        await gateway(echoing).reserve_visit(visit())

    message = str(raised.value)
    assert "422" in message and "Patient.telecom[0].value" in message
    assert_no_phi(message)


async def test_an_outcome_with_elements_r4b_does_not_know_still_names_its_issues() -> None:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "business-rule",
                "diagnostics": "Slot is already taken",
                "vendorRuleId": "SCHED-17",
            }
        ],
    }

    def vendor(request: httpx.Request) -> httpx.Response:
        return fhir_response(409, json.dumps(body).encode())

    with pytest.raises(ClinicRejected, match=r"409.*business-rule.*Slot is already taken"):
        await gateway(vendor).reserve_visit(visit())


async def test_an_answer_without_an_outcome_still_names_the_status() -> None:
    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html><body>Bad Gateway</body></html>")

    with pytest.raises(ClinicUnavailable, match=r"502.*no OperationOutcome"):
        await gateway(proxy).reserve_visit(visit())


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out")],
    ids=["connect", "timeout"],
)
async def test_a_clinic_that_cannot_be_reached_is_unavailable(
    failure: httpx.TransportError,
) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(ClinicUnavailable, match=type(failure).__name__) as raised:
        await gateway(unreachable).reserve_visit(visit())

    assert_no_phi(str(raised.value))


def test_a_visit_needs_zoned_times_and_a_second_day() -> None:
    with pytest.raises(ValidationError):
        visit(day1_start=datetime(2025, 3, 29, 9, 0))
    with pytest.raises(ValidationError, match="day2_end"):
        visit(day2_end=DAY1 + timedelta(hours=20))
