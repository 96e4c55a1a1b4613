"""What a journey's emails say, read from the records at send time (never from the workflow)."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import asyncpg


@dataclass
class JourneyFacts:
    """Everything a template may show, for one journey, as read from PostgreSQL."""

    patient_id: str
    patient_name: str
    patient_email: str
    language: str
    time_zone: str
    case_manager_name: str = ""
    case_manager_email: str = ""
    # The languages the staff directory says each works in, most used first.
    case_manager_languages: list[str] = field(default_factory=list)
    specialist_email: str = ""
    specialist_languages: list[str] = field(default_factory=list)
    # The specialist's clock: a patient whose clock shows another time reads both.
    specialist_time_zone: str | None = None
    slots: list[datetime] = field(default_factory=list)
    consult_at: datetime | None = None
    consult_end: datetime | None = None
    consult_booking_id: str = ""
    plan_price: str = ""
    plan_currency: str = ""
    plan_amount: Decimal | None = None
    visit_start: datetime | None = None
    visit_end: datetime | None = None
    stay_start: datetime | None = None
    stay_end: datetime | None = None
    country: str = ""
    arrival_date: date | None = None
    departure_date: date | None = None
    companions: int = 0
    # The booking an email is about (a request, a reminder, a cancellation): its id, and the
    # hotel's and the transfer's that stand now.
    booking_id: str = ""
    hotel_id: str = ""
    transfer_id: str = ""


# One round trip: an email is sent about thirty times a journey, and each used to take five.
# Each column is named as the field of `JourneyFacts` it fills.
_FACTS = """
SELECT trim(p.country) AS country, p.patient_id::text AS patient_id, p.full_name AS patient_name,
       p.email AS patient_email, p.preferred_language AS language,
       coalesce(nullif(p.time_zone, ''), 'UTC') AS time_zone,
       coalesce(cm.full_name, '') AS case_manager_name,
       coalesce(cm.email, '') AS case_manager_email,
       coalesce(cm.languages, '{}') AS case_manager_languages,
       coalesce(sp.email, '') AS specialist_email,
       coalesce(sp.languages, '{}') AS specialist_languages, sp.time_zone AS specialist_time_zone,
       ARRAY(SELECT s.starts_at FROM consult_slots s
              WHERE s.journey_id = j.journey_id AND s.follow_up_no IS NOT DISTINCT FROM $2::int
                AND s.round = coalesce($3::int,
                                       (SELECT max(round) FROM consult_slots x
                                         WHERE x.journey_id = j.journey_id
                                           AND x.follow_up_no IS NOT DISTINCT FROM $2::int))
              ORDER BY s.starts_at) AS slots,
       coalesce(c.booking_id, '') AS consult_booking_id, c.starts_at AS consult_at,
       c.ends_at AS consult_end, v.starts_at AS visit_start, v.ends_at AS visit_end,
       h.starts_at AS stay_start, h.ends_at AS stay_end, coalesce(h.booking_id, '') AS hotel_id,
       coalesce(tr.booking_id, '') AS transfer_id,
       t.arrival_date, t.departure_date, coalesce(t.companions, 0) AS companions,
       tp.price AS plan_amount, coalesce(tp.currency, '') AS plan_currency
  FROM journeys j JOIN patients p USING (patient_id)
  LEFT JOIN staff cm ON cm.staff_id = j.case_manager_id
  LEFT JOIN staff sp ON sp.staff_id = j.specialist_id
  LEFT JOIN LATERAL (SELECT booking_id, starts_at, ends_at FROM bookings
                      WHERE journey_id = j.journey_id AND kind = 'consult'
                        AND ($4::text IS NULL OR booking_id = $4::text)
                      ORDER BY booked_at DESC LIMIT 1) c ON true
  LEFT JOIN LATERAL (SELECT starts_at, ends_at FROM bookings
                      WHERE journey_id = j.journey_id AND kind = 'clinic_visit'
                      ORDER BY status = 'active' DESC, booked_at DESC LIMIT 1) v ON true
  LEFT JOIN LATERAL (SELECT booking_id, starts_at, ends_at FROM bookings
                      WHERE journey_id = j.journey_id AND kind = 'hotel'
                      ORDER BY status = 'active' DESC, booked_at DESC LIMIT 1) h ON true
  LEFT JOIN LATERAL (SELECT booking_id FROM bookings
                      WHERE journey_id = j.journey_id AND kind = 'transfer'
                      ORDER BY status = 'active' DESC, booked_at DESC LIMIT 1) tr ON true
  LEFT JOIN LATERAL (SELECT arrival_date, departure_date, companions FROM travel_records
                      WHERE journey_id = j.journey_id
                        AND coalesce(change_status, 'applied') = 'applied'
                      ORDER BY submitted_at DESC LIMIT 1) t ON true
  LEFT JOIN LATERAL (SELECT price, currency FROM treatment_plans
                      WHERE journey_id = j.journey_id
                      ORDER BY created_at DESC LIMIT 1) tp ON true
 WHERE j.journey_id = $1
"""


# One booking's dates, for an email about that booking rather than the trip that stands now
# (a cancellation after a change of dates, a new request beside an old one).
_BOOKING = """
SELECT kind, starts_at, ends_at FROM bookings WHERE journey_id = $1 AND booking_id = $2
"""


async def load_journey_facts(
    conn: asyncpg.Connection,
    journey_id: str,
    *,
    follow_up_no: int | None = None,
    slot_round: int | None = None,
    booking_id: str | None = None,
) -> JourneyFacts | None:
    """What a journey's emails may show. The slots are the first consultation's newest
    round's, or those of `slot_round` (newest too when None) of follow-up consult
    `follow_up_no`; an email about the booking `booking_id` shows that booking: a consultation
    as the consultation, a visit, hotel or transfer as the trip's (else the newest booked)."""
    row = await conn.fetchrow(_FACTS, journey_id, follow_up_no, slot_round, booking_id or None)
    if row is None:
        return None
    facts = _facts(row)
    booking = await conn.fetchrow(_BOOKING, journey_id, booking_id) if booking_id else None
    if booking_id and booking is not None:
        facts.booking_id = booking_id
        if booking["kind"] == "clinic_visit":
            facts.visit_start, facts.visit_end = booking["starts_at"], booking["ends_at"]
        elif booking["kind"] != "consult":
            facts.stay_start, facts.stay_end = booking["starts_at"], booking["ends_at"]
    return facts


def _facts(row: asyncpg.Record) -> JourneyFacts:
    price = row["plan_amount"]
    return JourneyFacts(**row, plan_price=f"{price:,.2f}" if price is not None else "")
