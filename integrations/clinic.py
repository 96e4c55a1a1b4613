"""What every clinic gateway speaks: the visit to book, what came back, and how it failed.

A `VisitRequest` carries the patient's name and contact details, so it is built inside an
activity from the records and handed straight to a gateway: it never enters a workflow. What a
gateway raises may end up in a workflow history, so its messages carry none of those details.
"""

from datetime import timedelta
from typing import Literal, Protocol, Self

from pydantic import AwareDatetime, BaseModel, EmailStr, Field, model_validator

from domain.inquiry import CountryCode, LanguageCode, Name, PhoneNumber
from domain.policy import MIN_CELLS


class VisitRequest(BaseModel):
    """The two-day clinic visit for one journey: day 1 admission, day 2 the procedure."""

    journey_id: str
    patient_id: str
    full_name: Name
    email: EmailStr
    phone: PhoneNumber
    country: CountryCode
    preferred_language: LanguageCode
    day1_start: AwareDatetime
    day2_end: AwareDatetime
    cells_target: int = MIN_CELLS
    # Which of the journey's visits: "" for the one booked with the travel details, another
    # key for a visit booked beside it when the dates change (held until the old one goes).
    visit_key: str = Field(default="", pattern=r"^[a-z0-9]{0,8}$")

    @model_validator(mode="after")
    def _day2_ends_after_it_starts(self) -> Self:
        # Day 2 starts a day after day 1 does; an end before that is a mistake upstream.
        if self.day2_end <= self.day1_start + timedelta(days=1):
            raise ValueError("day2_end must be after the start of day 2 (day1_start + 1 day)")
        return self


class VisitReservation(BaseModel):
    """What the clinic holds for the visit.

    `pending` is for clinics that confirm by hand: the slot is asked for, not yet promised.
    """

    reference: str
    appointment_ids: list[str]
    status: Literal["booked", "pending"]


class ClinicRejected(Exception):
    """The clinic refused for good: retrying the same request cannot help.

    The message names the HTTP status and the clinic's issue codes and diagnostics, never the
    patient's name, email or phone, because it may be recorded in a workflow history.
    """


class ClinicUnavailable(Exception):
    """The clinic could not answer now (down, overloaded, unreachable): try again later.

    Its message holds no patient details, for the same reason as `ClinicRejected`.
    """


class ClinicGateway(Protocol):
    """Books, moves and cancels a journey's clinic visit; every call is safe to retry."""

    async def reserve_visit(self, request: VisitRequest) -> VisitReservation: ...

    async def change_visit(self, request: VisitRequest) -> VisitReservation: ...

    async def cancel_visit(self, journey_id: str, visit_key: str = "") -> None: ...


class EmailClinicGateway:
    """For clinics without an API: the request goes by email (the journey sends it) and a
    coordinator records the clinic's answer, so every reservation starts `pending`."""

    async def reserve_visit(self, request: VisitRequest) -> VisitReservation:
        key = f":{request.visit_key}" if request.visit_key else ""
        return VisitReservation(
            reference=f"email:{request.journey_id}{key}", appointment_ids=[], status="pending"
        )

    async def change_visit(self, request: VisitRequest) -> VisitReservation:
        return await self.reserve_visit(request)

    async def cancel_visit(self, journey_id: str, visit_key: str = "") -> None:
        return None
