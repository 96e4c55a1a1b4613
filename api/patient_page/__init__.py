"""The patient's page: the journey in plain words and every step it asks of the patient, as
plain forms over the same step code as the JSON API (see routes.py)."""

from api.patient_page.routes import router

__all__ = ["router"]
