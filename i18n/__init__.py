"""One way to translate: gettext catalogues read through Babel, for emails, letters and pages.

`translations(language)` gives a language's catalogue (English for a language without one),
`resolve_first(languages)` the first of a reader's languages that a catalogue has,
`supported_languages()` the languages whose catalogue is present in `locales/`, the `format_*`
helpers dates, times, periods and money in the reader's language, and `LocalizedEnvironments`
Jinja environments with `{% trans %}` per language. See docs/i18n.md.
"""

from i18n.catalogues import (
    N_,
    SOURCE_LANGUAGE,
    catalogue_for,
    direction,
    language_name,
    locale,
    negotiate,
    resolve,
    resolve_first,
    supported_languages,
    translations,
)
from i18n.formatting import (
    country_name,
    day_names,
    format_clinic_moment,
    format_day,
    format_day_month,
    format_duration,
    format_elapsed,
    format_long_date,
    format_moment,
    format_money,
    format_number,
    format_period,
    format_two_zone_moment,
    language_name_in,
    month_names,
    zone_city,
)
from i18n.jinja import LocalizedEnvironments, localized_environment

__all__ = [
    "N_",
    "SOURCE_LANGUAGE",
    "LocalizedEnvironments",
    "catalogue_for",
    "country_name",
    "day_names",
    "direction",
    "format_clinic_moment",
    "format_day",
    "format_day_month",
    "format_duration",
    "format_elapsed",
    "format_long_date",
    "format_moment",
    "format_money",
    "format_number",
    "format_period",
    "format_two_zone_moment",
    "language_name",
    "language_name_in",
    "locale",
    "localized_environment",
    "month_names",
    "negotiate",
    "resolve",
    "resolve_first",
    "supported_languages",
    "translations",
    "zone_city",
]
