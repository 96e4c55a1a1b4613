"""A follow-up outcome on the clinical scales (domain/outcome_scales.py): what its body takes
and refuses, by a refusal's code worded in each reader's language, and the trend the case page
draws of it."""

import pytest
from pydantic import ValidationError

from api.console.charts import trend
from api.console.wording import Wording
from domain.refusals import Refusal, RefusalCode
from domain.step_bodies import FollowUpOutcomeBody

VALID = {"ais_grade": "C", "uems": 31, "lems": 12, "light_touch": 80, "pin_prick": 64}


def _refused(**fields: object) -> list[Refusal]:
    with pytest.raises(ValidationError) as raised:
        FollowUpOutcomeBody.model_validate(fields)
    return [Refusal.of(RefusalCode(e["type"]), **e.get("ctx", {})) for e in raised.value.errors()]


def test_an_outcome_records_the_grade_and_the_four_scores_and_optionally_scim() -> None:
    body = FollowUpOutcomeBody.model_validate({**VALID, "neurological_level": "T6"})
    assert body.record() == {**VALID, "neurological_level": "T6"}
    with_scim = FollowUpOutcomeBody.model_validate({**VALID, "scim_total": "58"})
    assert with_scim.scim_total == 58
    # The form's fields come as text, the grade in any case.
    typed = FollowUpOutcomeBody.model_validate({**dict.fromkeys(VALID, "0"), "ais_grade": "a"})
    assert typed.ais_grade == "A" and typed.uems == 0


@pytest.mark.parametrize(
    ("field", "value", "low", "high"),
    [
        ("uems", 51, 0, 50),
        ("lems", -1, 0, 50),
        ("light_touch", 113, 0, 112),
        ("pin_prick", "12.5", 0, 112),
        ("scim_total", 101, 0, 100),
        ("uems", "many", 0, 50),
    ],
)
def test_a_score_off_its_scale_is_refused_naming_the_scale_and_its_range(
    field: str, value: object, low: int, high: int
) -> None:
    [refusal] = _refused(**{**VALID, field: value})
    assert refusal.code is RefusalCode.SCORE_OUT_OF_RANGE
    assert (refusal.params.scale, refusal.params.low, refusal.params.high) == (field, low, high)


def test_each_missing_part_of_the_examination_is_named() -> None:
    refused = _refused(lems=10, scim_total=40)
    assert [(r.code, r.params.scale) for r in refused] == [
        (RefusalCode.SCALE_MISSING, "ais_grade"),
        (RefusalCode.SCALE_MISSING, "uems"),
        (RefusalCode.SCALE_MISSING, "light_touch"),
        (RefusalCode.SCALE_MISSING, "pin_prick"),
    ]


def test_the_refusal_reads_in_english_for_the_api_and_in_spanish_in_the_console() -> None:
    [refusal] = _refused(**{**VALID, "light_touch": 140})
    assert refusal.english == "the light touch score is a whole number from 0 to 112"
    spanish = Wording("es").refusal(refusal, "Europe/Madrid")
    assert "112" in spanish and "tacto ligero" in spanish
    assert Wording("en").refusal(refusal, "UTC") == (
        "Enter the light touch score as a whole number from 0 to 112."
    )


def test_a_trend_places_each_score_on_its_scale_and_skips_what_a_consult_left_out() -> None:
    chart = trend(["2 weeks", "6 weeks", "3 months"], [("uems", [10, None, 20])], 50)
    assert chart.ticks[-1].value == 50 and chart.ticks[0].value == 0
    [line] = chart.lines
    assert [p.value for p in line.points] == [10, 20]
    first, last = line.points
    assert first.x < last.x and last.y < first.y, "higher scores are drawn higher"
    span = chart.baseline - chart.ticks[-1].y
    assert chart.baseline - first.y == pytest.approx(span * 10 / 50)
