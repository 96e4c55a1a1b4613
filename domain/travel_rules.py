"""The rules of a trip once it is booked: until when its dates can change, the earliest new
arrival a change may ask for, and when a partner's unconfirmed request is chased and when it
becomes a coordinator's incident. Pure functions of the policy and the times, shared by the
workflow's checks and the pages."""

from datetime import UTC, date, datetime, time, timedelta

from domain.clinic_hours import visit_times
from domain.policy import JourneyPolicy

# A hotel's and a transfer's dates: check-in and pick-up on the arrival day, check-out and
# drop-off on the departure day, written at noon UTC as the journey always booked them.
PARTNER_HOUR = time(12, 0)


def change_cutoff(visit_day1: datetime, policy: JourneyPolicy) -> datetime:
    """Until when the dates of a trip whose visit starts at `visit_day1` can change."""
    return visit_day1 - policy.travel_change_cutoff


def new_visit_day1(arrival: date, policy: JourneyPolicy) -> datetime:
    """When the visit of a trip arriving on `arrival` starts, on the policy's clinic clock."""
    return visit_times(
        arrival,
        zone=policy.clinic_time_zone,
        day_start=policy.visit_day_start,
        day_end=policy.visit_day_end,
        admission_after=policy.admission_alert_after,
    ).day1_start


def earliest_arrival(now: datetime, policy: JourneyPolicy) -> date:
    """The first arrival a change asked for at `now` may take: its visit must still be open
    to changes, so that the clinic, the hotel and the transfer are booked again in time."""
    arrival = now.astimezone(UTC).date() + timedelta(days=1)
    while change_cutoff(new_visit_day1(arrival, policy), policy) <= now:
        arrival += timedelta(days=1)
    return arrival


def arrival_at(arrival: date) -> datetime:
    """The moment the trip's emails and partners count from: noon UTC of the arrival day."""
    return datetime.combine(arrival, PARTNER_HOUR, tzinfo=UTC)


def stay(arrival: date, departure: date) -> tuple[datetime, datetime]:
    """The hotel's and the transfer's start and end for a trip's dates."""
    return arrival_at(arrival), arrival_at(departure)


def partner_due(requested_at: datetime, arrival: datetime, policy: JourneyPolicy) -> datetime:
    """When a request still unconfirmed becomes an incident: `partner_confirmation_before`
    the arrival, or for a request sent later than that, `partner_confirmation_grace` after it.
    Never after the arrival itself, by when the answer is needed whatever the grace."""
    due = arrival - policy.partner_confirmation_before
    if due <= requested_at:
        due = min(requested_at + policy.partner_confirmation_grace, arrival)
    return due


def partner_reminders(
    requested_at: datetime, due: datetime, policy: JourneyPolicy
) -> list[datetime]:
    """When the partner is reminded of an unconfirmed request: the policy's offsets after it
    was sent that fall before the incident."""
    return [requested_at + r for r in sorted(policy.partner_reminders) if requested_at + r < due]
