"""Which language a member of staff and a role mailbox are written to in, without servers."""

import pytest
from pydantic import ValidationError

from i18n import catalogue_for, resolve_first
from settings import Settings


@pytest.mark.parametrize(
    ("languages", "written_in"),
    [
        (["es", "en"], "es"),
        (["en", "es"], "en"),
        (["es-MX"], "es"),
        # No catalogue for the first: the next one they work in that has one.
        (["de", "en"], "en"),
        (["pt", "es"], "es"),
        (["de"], "en"),
        ([], "en"),
    ],
)
def test_staff_are_written_to_in_the_first_of_their_languages_we_have(
    languages: list[str], written_in: str
) -> None:
    assert resolve_first(languages) == written_in


def test_a_tag_names_a_catalogue_or_none() -> None:
    assert catalogue_for("es-MX") == "es"
    assert catalogue_for("EN") == "en"
    assert catalogue_for("fr") is None
    assert catalogue_for("") is None


def test_role_mailboxes_are_written_to_in_english_unless_set() -> None:
    default = Settings()
    assert (default.staff_notify_language, default.medical_lead_language) == ("en", "en")
    chosen = Settings(staff_notify_language="es-ES", medical_lead_language="es")
    assert (chosen.staff_notify_language, chosen.medical_lead_language) == ("es", "es")


@pytest.mark.parametrize("field", ["staff_notify_language", "medical_lead_language"])
@pytest.mark.parametrize("value", ["fr", "", "english"])
def test_a_mailbox_language_without_a_catalogue_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({field: value})
    message = str(refused.value)
    assert f"no catalogue for {value!r}; the languages are en, es" in message
