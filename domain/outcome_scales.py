"""The scales a follow-up consult's outcome is recorded on: those clinicians use for spinal cord
injury, so that a patient's year can be compared consult by consult and with other patients.

- The International Standards for Neurological Classification of SCI (ISNCSCI, ASIA and ISCoS,
  revised 2019): the ASIA Impairment Scale grade (AIS, A to E), the neurological level of
  injury (C1 to S4-5, or INT when intact; optional), the upper and lower extremity motor
  scores (UEMS and LEMS, 0 to 50 each) and the light touch and pin prick sensory scores (0 to
  112 each). A follow-up outcome needs the grade and the four scores.
- The Spinal Cord Independence Measure, version III (SCIM III): its total, 0 to 100, when the
  specialist assessed it.

Outcomes recorded before these scales hold only 0 to 10 scores of trunk control, balance,
spasticity, sensation and bladder; those scores are still taken beside the scales, and every
outcome stays readable.
"""

from dataclasses import dataclass
from enum import StrEnum


class AisGrade(StrEnum):
    """ASIA Impairment Scale: A complete, B sensory incomplete, C and D motor incomplete (fewer
    than half, or at least half, of the key muscles below the level at grade 3), E normal."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


class NeurologicalLevel(StrEnum):
    """The neurological level of injury (ISNCSCI): the most caudal segment with normal
    sensation and antigravity strength on both sides; INT when every segment is intact."""

    C1 = "C1"
    C2 = "C2"
    C3 = "C3"
    C4 = "C4"
    C5 = "C5"
    C6 = "C6"
    C7 = "C7"
    C8 = "C8"
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    T5 = "T5"
    T6 = "T6"
    T7 = "T7"
    T8 = "T8"
    T9 = "T9"
    T10 = "T10"
    T11 = "T11"
    T12 = "T12"
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"
    L5 = "L5"
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"
    S4_5 = "S4-5"
    INT = "INT"


class Score(StrEnum):
    """Each whole-number score of an outcome on the scales, by its field in the body, the
    record and the table."""

    UEMS = "uems"
    LEMS = "lems"
    LIGHT_TOUCH = "light_touch"
    PIN_PRICK = "pin_prick"
    SCIM_TOTAL = "scim_total"


@dataclass(frozen=True)
class Range:
    low: int
    high: int


RANGES: dict[Score, Range] = {
    Score.UEMS: Range(0, 50),
    Score.LEMS: Range(0, 50),
    Score.LIGHT_TOUCH: Range(0, 112),
    Score.PIN_PRICK: Range(0, 112),
    Score.SCIM_TOTAL: Range(0, 100),
}
# What every outcome on the scales holds; the SCIM III total and the level are optional.
REQUIRED: tuple[str, ...] = (
    "ais_grade",
    Score.UEMS,
    Score.LEMS,
    Score.LIGHT_TOUCH,
    Score.PIN_PRICK,
)
# Every field of an outcome on the scales, in the order the forms and tables give them.
SCALE_FIELDS: tuple[str, ...] = (
    "ais_grade",
    "neurological_level",
    Score.UEMS,
    Score.LEMS,
    Score.LIGHT_TOUCH,
    Score.PIN_PRICK,
    Score.SCIM_TOTAL,
)
# Each field's name in English, for the API's messages (pages word them through the catalogues).
ENGLISH: dict[str, str] = {
    "ais_grade": "the ASIA Impairment Scale grade",
    "neurological_level": "the neurological level of injury",
    Score.UEMS: "the upper extremity motor score (UEMS)",
    Score.LEMS: "the lower extremity motor score (LEMS)",
    Score.LIGHT_TOUCH: "the light touch score",
    Score.PIN_PRICK: "the pin prick score",
    Score.SCIM_TOTAL: "the SCIM III total",
}
# The 0 to 10 scores recorded before the scales, still taken and read.
EARLIER_SCORES: tuple[str, ...] = (
    "trunk_control",
    "sitting_balance",
    "standing_balance",
    "spasticity",
    "sensation",
    "bladder",
)


def in_range(score: Score, value: int) -> bool:
    limits = RANGES[score]
    return limits.low <= value <= limits.high
