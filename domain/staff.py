"""A member of staff as the staff directory keeps them, and the checks of what an administrator
types for one: each refusal is a code beside the field it is about, worded by the console
through the catalogues and by the `journeys` command in English (`ENGLISH`).

Pure: what needs the directory itself (an id or an email already taken) is the service's
(`db/staff_directory.py`), with the same codes.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

import pycountry

from domain.actors import Role
from domain.inquiry import is_time_zone
from domain.readers import STAFF_ROLES
from domain.working_hours import (
    WEEKDAYS,
    HoursRefused,
    Interval,
    WorkingHours,
    format_day,
    parse_day,
)

# What a staff id may hold: it names the member in every journey's history and in the audit
# log, and in the console's addresses.
STAFF_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$"
# A BCP-47 tag as the directory keeps it: a language, then optionally a script and a region
# (`es`, `pt-BR`, `zh-Hant-TW`).
_LANGUAGE_TAG = re.compile(r"^([a-z]{2,3})(?:-([A-Z][a-z]{3}))?(?:-([A-Z]{2}|\d{3}))?$")
# Ids the directory's own addresses take (`/staff/directory/new`).
RESERVED_IDS = frozenset({"new"})
_EMAIL = re.compile(r"^([^@\s\"(),:;<>\[\\\]]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")
# An E.164 number: `+`, a country code (never starting with 0), at most 15 digits in all. The
# shortest numbers in use (some small countries') have 8.
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# What people type between the digits of a number, taken out before it is checked.
_PHONE_SEPARATORS = re.compile(r"[\s()\-]")
CONSULT_MINUTES = range(10, 241)
DEFAULT_CONSULT_MINUTES = 30
# Every role the directory can give: the roles people sign in with.
DIRECTORY_ROLES = tuple(
    role
    for role in (
        Role.COORDINATOR,
        Role.CASE_MANAGER,
        Role.SPECIALIST,
        Role.REVIEWER,
        Role.MEDICAL_LEAD,
        Role.AUDITOR,
        Role.PRIVACY_OFFICER,
        Role.STAFF_ADMIN,
    )
    if role in STAFF_ROLES
)
# The fields of a member in the order the directory's form shows them, and its problems are
# listed in; `hours` is the whole week, `hours_0` (Monday) to `hours_6` (Sunday) its days.
FIELDS = (
    "staff_id",
    "full_name",
    "email",
    "phone",
    "role",
    "languages",
    "time_zone",
    "oidc_subject",
    "consult_minutes",
    "calendar_url",
    "hours",
    *(f"hours_{day}" for day in WEEKDAYS),
    "active",
    "confirm",
)


class StaffProblem(StrEnum):
    """Why a field of a member of staff is refused."""

    REQUIRED = "required"
    TOO_LONG = "too_long"
    ID_FORMAT = "id_format"
    ID_TAKEN = "id_taken"
    ID_RESERVED = "id_reserved"
    EMAIL_FORMAT = "email_format"
    EMAIL_TAKEN = "email_taken"
    PHONE_FORMAT = "phone_format"
    SUBJECT_TAKEN = "subject_taken"
    ROLE_UNKNOWN = "role_unknown"
    LANGUAGE_FORMAT = "language_format"
    TIME_ZONE_UNKNOWN = "time_zone_unknown"
    CALENDAR_URL = "calendar_url"
    CONSULT_LENGTH = "consult_length"
    HOURS_MISSING = "hours_missing"
    HOURS_FORMAT = "hours_format"
    HOURS_ORDER = "hours_order"
    HOURS_OVERLAP = "hours_overlap"
    HOURS_TOO_SHORT = "hours_too_short"
    OWN_ROLE = "own_role"
    OWN_ACCOUNT = "own_account"
    LAST_ADMIN = "last_admin"
    HOLDS_JOURNEYS = "holds_journeys"
    NOT_CONFIRMED = "not_confirmed"


# The one English wording of each problem, for the command and logs; `{value}` is what was
# refused, `{day}` a weekday's English name.
ENGLISH: dict[StaffProblem, str] = {
    StaffProblem.REQUIRED: "required",
    StaffProblem.TOO_LONG: "at most {value} characters",
    StaffProblem.ID_FORMAT: "letters, digits and . _ @ - only, up to 120, starting with a "
    "letter or digit",
    StaffProblem.ID_TAKEN: "{value} is already the id of a member of staff",
    StaffProblem.ID_RESERVED: "{value} names a page of the directory; choose another id",
    StaffProblem.EMAIL_FORMAT: "{value} is not an email address",
    StaffProblem.EMAIL_TAKEN: "{value} is already the email of a member of staff",
    StaffProblem.PHONE_FORMAT: "{value} is not an international phone number: write + and the "
    "country code first, such as +34 600 123 456",
    StaffProblem.SUBJECT_TAKEN: "{value} already signs in another member of staff",
    StaffProblem.ROLE_UNKNOWN: "{value} is not a staff role",
    StaffProblem.LANGUAGE_FORMAT: "{value} is not a BCP-47 language tag, such as es or pt-BR",
    StaffProblem.TIME_ZONE_UNKNOWN: "{value} is not an IANA time zone, such as Europe/Madrid",
    StaffProblem.CALENDAR_URL: "{value} is not an http(s) address of a calendar",
    StaffProblem.CONSULT_LENGTH: "a consultation takes 10 to 240 minutes",
    StaffProblem.HOURS_MISSING: "a specialist needs working hours on at least one day",
    StaffProblem.HOURS_FORMAT: "{day}: {value} is not a time range such as 09:00-13:00",
    StaffProblem.HOURS_ORDER: "{day}: {value} ends before it starts",
    StaffProblem.HOURS_OVERLAP: "{day}: {value} overlap",
    StaffProblem.HOURS_TOO_SHORT: "no working interval is as long as one consultation",
    StaffProblem.OWN_ROLE: "you cannot change your own role",
    StaffProblem.OWN_ACCOUNT: "you cannot deactivate yourself",
    StaffProblem.LAST_ADMIN: "the directory needs at least one active staff administrator",
    StaffProblem.HOLDS_JOURNEYS: "{value} open journeys still name them in this role: "
    "deactivate them to have the journeys reassigned, or keep the role",
    StaffProblem.NOT_CONFIRMED: "tick the box to confirm",
}
DAY_ENGLISH = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class FieldProblem:
    """A refused field: the code, what was refused, and the weekday for working hours."""

    problem: StaffProblem
    value: str = ""
    day: int | None = None

    @property
    def english(self) -> str:
        day = DAY_ENGLISH[self.day] if self.day is not None else ""
        return ENGLISH[self.problem].format(value=self.value, day=day)


@dataclass(frozen=True)
class StaffRecord:
    """A member of staff as the directory keeps them; the hours and consultation length are
    a specialist's (empty and None for other roles). The phone is a work number in E.164
    (`+34600123456`), or None when none is on file."""

    staff_id: str
    full_name: str
    email: str
    role: Role
    languages: tuple[str, ...]
    time_zone: str
    oidc_subject: str
    phone: str | None = None
    calendar_url: str | None = None
    consult_minutes: int | None = None
    hours: WorkingHours = field(default_factory=dict)
    active: bool = True

    def form_values(self) -> dict[str, str]:
        """The record as the directory's form shows it."""
        values = {
            "staff_id": self.staff_id,
            "full_name": self.full_name,
            "email": self.email,
            "phone": self.phone or "",
            "role": self.role.value,
            "languages": ", ".join(self.languages),
            "time_zone": self.time_zone,
            "oidc_subject": self.oidc_subject,
            "calendar_url": self.calendar_url or "",
            "consult_minutes": str(self.consult_minutes or ""),
        }
        for day in WEEKDAYS:
            values[f"hours_{day}"] = format_day(self.hours.get(day, ()))
        return values


class StaffRefused(ValueError):
    """A member of staff the directory refuses: each refused field with its problem."""

    def __init__(self, problems: Mapping[str, FieldProblem]) -> None:
        order = {name: i for i, name in enumerate(FIELDS)}
        self.problems = dict(sorted(problems.items(), key=lambda p: order.get(p[0], len(order))))
        super().__init__(
            "; ".join(f"{name}: {problem.english}" for name, problem in self.problems.items())
        )


def language_tag(value: str) -> str | None:
    """`value` as a BCP-47 tag (`pt-br` becomes `pt-BR`), or None when it is not one whose
    language ISO 639 knows."""
    parts = value.strip().replace("_", "-").split("-")
    if not parts or not parts[0]:
        return None
    normal = [parts[0].lower()]
    for part in parts[1:]:
        normal.append(part.title() if len(part) == 4 else part.upper())
    tag = "-".join(normal)
    match = _LANGUAGE_TAG.match(tag)
    if match is None:
        return None
    language = match.group(1)
    known = (
        pycountry.languages.get(alpha_2=language)
        if len(language) == 2
        else pycountry.languages.get(alpha_3=language)
    )
    return tag if known is not None else None


def email_address(value: str) -> str | None:
    """`value` as an address (its domain in lower case), or None when it is not one.

    A syntax check only: staff addresses are often on an organisation's internal domain (the
    demo staff's `journeys.localhost`), which a check for public deliverability refuses.
    """
    match = _EMAIL.match(value.strip())
    if match is None or len(value) > 254:
        return None
    return f"{match.group(1)}@{match.group(2).lower()}"


def phone_number(value: str) -> str | None:
    """`value` in E.164 (`+34 600 123 456` becomes `+34600123456`), or None when it is not an
    international number. The form only: whether the number rings is not checked."""
    number = _PHONE_SEPARATORS.sub("", value)
    return number if _E164.fullmatch(number) else None


def calendar_address(value: str) -> bool:
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.username
        and not parts.password
        and not parts.fragment
        and not parts.query
    )


def check_member(values: Mapping[str, str], *, new: bool = True) -> StaffRecord:
    """The member of staff that `values` (the form's fields, as typed) describe; refused with
    every field's problem at once (`StaffRefused`).

    Working hours come as `hours_0` (Monday) to `hours_6` (Sunday), each `09:00-13:00,
    15:00-18:00` or empty; the provider's subject is the staff id when left empty. The id is
    checked for a `new` member only: one already on file keeps theirs, whatever it holds.
    """
    problems: dict[str, FieldProblem] = {}

    def text(name: str) -> str:
        return (values.get(name) or "").strip()

    def refuse(name: str, problem: StaffProblem, value: str = "", day: int | None = None) -> None:
        problems.setdefault(name, FieldProblem(problem, value, day))

    staff_id = text("staff_id")
    if not staff_id:
        refuse("staff_id", StaffProblem.REQUIRED)
    elif not new:
        pass
    elif not re.fullmatch(STAFF_ID_PATTERN, staff_id):
        refuse("staff_id", StaffProblem.ID_FORMAT, staff_id)
    elif staff_id.lower() in RESERVED_IDS:
        refuse("staff_id", StaffProblem.ID_RESERVED, staff_id)
    full_name = text("full_name")
    if not full_name:
        refuse("full_name", StaffProblem.REQUIRED)
    elif len(full_name) > 200:
        refuse("full_name", StaffProblem.TOO_LONG, "200")
    email = text("email")
    if not email:
        refuse("email", StaffProblem.REQUIRED)
    elif (address := email_address(email)) is None:
        refuse("email", StaffProblem.EMAIL_FORMAT, email)
    else:
        email = address
    phone = text("phone") or None
    if phone is not None:
        number = phone_number(phone)
        if number is None:
            refuse("phone", StaffProblem.PHONE_FORMAT, phone)
        phone = number
    role: Role | None = None
    role_text = text("role")
    if not role_text:
        refuse("role", StaffProblem.REQUIRED)
    else:
        role = next((r for r in DIRECTORY_ROLES if r.value == role_text), None)
        if role is None:
            refuse("role", StaffProblem.ROLE_UNKNOWN, role_text)
    languages: list[str] = []
    for piece in (p for p in re.split(r"[,\s]+", text("languages")) if p):
        tag = language_tag(piece)
        if tag is None:
            refuse("languages", StaffProblem.LANGUAGE_FORMAT, piece)
        elif tag not in languages:
            languages.append(tag)
    if not languages:
        refuse("languages", StaffProblem.REQUIRED)
    time_zone = text("time_zone")
    if not time_zone:
        refuse("time_zone", StaffProblem.REQUIRED)
    elif not is_time_zone(time_zone):
        refuse("time_zone", StaffProblem.TIME_ZONE_UNKNOWN, time_zone)
    oidc_subject = text("oidc_subject") or staff_id
    if len(oidc_subject) > 255:
        refuse("oidc_subject", StaffProblem.TOO_LONG, "255")
    calendar_url = text("calendar_url") or None
    consult_minutes: int | None = None
    hours: dict[int, tuple[Interval, ...]] = {}
    if role is Role.SPECIALIST:
        if calendar_url is not None and not calendar_address(calendar_url):
            refuse("calendar_url", StaffProblem.CALENDAR_URL, calendar_url)
        minutes = text("consult_minutes")
        if not minutes:
            refuse("consult_minutes", StaffProblem.REQUIRED)
        elif not minutes.isdigit() or int(minutes) not in CONSULT_MINUTES:
            refuse("consult_minutes", StaffProblem.CONSULT_LENGTH, minutes)
        else:
            consult_minutes = int(minutes)
        for day in WEEKDAYS:
            try:
                intervals = parse_day(text(f"hours_{day}"))
            except HoursRefused as refused:
                code = {
                    "format": StaffProblem.HOURS_FORMAT,
                    "order": StaffProblem.HOURS_ORDER,
                    "overlap": StaffProblem.HOURS_OVERLAP,
                }[refused.problem]
                refuse(f"hours_{day}", code, refused.value, day)
                continue
            if intervals:
                hours[day] = intervals
        day_problems = any(name.startswith("hours_") for name in problems)
        if not hours and not day_problems:
            refuse("hours", StaffProblem.HOURS_MISSING)
        elif hours and consult_minutes is not None and not _fits(hours, consult_minutes):
            refuse("hours", StaffProblem.HOURS_TOO_SHORT)
    else:
        # Only a specialist's consultations are placed in working hours and read a calendar.
        calendar_url = None
    if problems:
        raise StaffRefused(problems)
    assert role is not None
    return StaffRecord(
        staff_id=staff_id,
        full_name=full_name,
        email=email,
        role=role,
        languages=tuple(languages),
        time_zone=time_zone,
        oidc_subject=oidc_subject,
        phone=phone,
        calendar_url=calendar_url,
        consult_minutes=consult_minutes,
        hours=hours,
    )


def _fits(hours: WorkingHours, minutes: int) -> bool:
    def length(i: Interval) -> int:
        return (i.ends.hour * 60 + i.ends.minute) - (i.starts.hour * 60 + i.starts.minute)

    return any(length(i) >= minutes for day in hours.values() for i in day)
