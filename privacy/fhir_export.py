"""The patient's copy as a FHIR R4 Bundle (type `collection`), for systems that read FHIR:
the Patient, the injury as a Condition, the consents, the documents with their content,
the procedure and adverse events, the outcomes and check-ins as Observations, and the
bookings as Appointments. Built with `fhir.resources.R4B`, which checks each resource; the
JSON copy (`privacy/export.py`) stays the complete one."""

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.adverseevent import AdverseEvent
from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.appointment import Appointment, AppointmentParticipant
from fhir.resources.R4B.attachment import Attachment
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.consent import Consent, ConsentProvision
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.documentreference import DocumentReference, DocumentReferenceContent
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.patient import Patient, PatientCommunication
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from db.subject_access import SubjectRecords
from domain.outcome_scales import EARLIER_SCORES, SCALE_FIELDS, Score

FHIR_JSON = "application/fhir+json"
PATIENT_ID_SYSTEM = "urn:journeys:patient"
JOURNEY_ID_SYSTEM = "urn:journeys:journey"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY = "http://loinc.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LOINC = "http://loinc.org"
# The project's own code systems, for what has no standard code the export could verify: the
# scales' other scores, and the values of the grade and the level (docs/privacy.md says why).
SCALE_SYSTEM = "urn:journeys:outcome-scale"
AIS_GRADE_SYSTEM = "urn:journeys:ais-grade"
NEUROLOGICAL_LEVEL_SYSTEM = "urn:journeys:neurological-level"


@dataclass(frozen=True)
class ScaleCode:
    """How one field of an outcome is coded as an Observation of its own."""

    system: str
    code: str
    display: str
    category: str


# Each scale of an outcome (domain/outcome_scales.py), as an Observation's code and category.
SCALE_CODES: dict[str, ScaleCode] = {
    "ais_grade": ScaleCode(LOINC, "97843-7", "ASIA impairment scale", "exam"),
    "neurological_level": ScaleCode(
        SCALE_SYSTEM, "neurological_level", "ISNCSCI neurological level of injury", "exam"
    ),
    Score.UEMS: ScaleCode(SCALE_SYSTEM, "uems", "ISNCSCI upper extremity motor score", "exam"),
    Score.LEMS: ScaleCode(SCALE_SYSTEM, "lems", "ISNCSCI lower extremity motor score", "exam"),
    Score.LIGHT_TOUCH: ScaleCode(
        SCALE_SYSTEM, "light_touch", "ISNCSCI light touch sensory score", "exam"
    ),
    Score.PIN_PRICK: ScaleCode(
        SCALE_SYSTEM, "pin_prick", "ISNCSCI pin prick sensory score", "exam"
    ),
    Score.SCIM_TOTAL: ScaleCode(
        SCALE_SYSTEM, "scim_total", "Spinal Cord Independence Measure III total", "survey"
    ),
}


def _text(value: str) -> CodeableConcept:
    return CodeableConcept(text=value)


def _note(text: str) -> list[Annotation] | None:
    return [Annotation(text=text)] if text else None


def _patient(records: SubjectRecords, subject: Reference) -> Patient:
    p = records.patient
    erased = not p.get("full_name")
    return Patient(
        id=subject.reference.split("/", 1)[1] if subject.reference else None,
        identifier=[Identifier(system=PATIENT_ID_SYSTEM, value=str(p["patient_id"]))],
        name=None if erased else [HumanName(text=p["full_name"])],
        telecom=None
        if erased
        else [
            ContactPoint(system="email", value=p["email"]),
            ContactPoint(system="phone", value=p["phone"]),
        ],
        communication=None
        if erased
        else [
            PatientCommunication(
                language=CodeableConcept(
                    coding=[Coding(system="urn:ietf:bcp:47", code=p["preferred_language"])]
                ),
                preferred=True,
            )
        ],
    )


def _resources(records: SubjectRecords, subject: Reference) -> list[Resource]:
    t = records.tables
    out: list[Resource] = [_patient(records, subject)]
    for i in t["inquiries"]:
        if i.get("injury_level") is None:
            continue
        out.append(
            Condition(
                id=f"inquiry-{i['inquiry_id']}",
                subject=subject,
                code=_text(
                    f"Spinal cord injury, level {i['injury_level']}, "
                    f"{i['injury_completeness']} ({i['injury_cause']})"
                ),
                onsetDateTime=i["injury_date"],
                recordedDate=i["submitted_at"],
                note=_note(i["medical_history"]),
            )
        )
    texts = {(c["version"], c["language"]): c for c in records.consent_texts}
    for c in t["consents"]:
        shown = texts.get((c["text_version"], c["text_language"]))
        out.append(
            Consent(
                id=f"consent-{c['consent_id']}",
                status="inactive" if c["withdrawn_at"] else "active",
                scope=CodeableConcept(
                    coding=[Coding(system=CONSENT_SCOPE, code="patient-privacy")]
                ),
                category=[
                    CodeableConcept(coding=[Coding(system=CONSENT_CATEGORY, code="59284-0")])
                ],
                patient=subject,
                dateTime=c["granted_at"],
                policyRule=_text(f"{c['purpose']}, text version {c['text_version']}"),
                sourceAttachment=Attachment(
                    contentType="text/plain; charset=utf-8",
                    language=shown["language"],
                    data=base64.b64encode(shown["body"].encode()),
                    title=f"sha256 {shown['sha256']}",
                )
                if shown
                else None,
                provision=ConsentProvision(
                    type="permit",
                    period=Period(start=c["granted_at"], end=c["withdrawn_at"]),
                ),
            )
        )
    for d in t["documents"]:
        out.append(
            DocumentReference(
                id=f"document-{d['document_id']}",
                status="current",
                type=_text(d["kind"]),
                subject=subject,
                date=d["uploaded_at"],
                content=[
                    DocumentReferenceContent(
                        attachment=Attachment(
                            contentType=d["content_type"],
                            data=base64.b64encode(d["content"]),
                            title=d["filename"],
                            size=d["size_bytes"],
                        )
                    )
                ],
            )
        )
    for r in t["procedure_reports"]:
        out.append(
            Procedure(
                id=f"procedure-{r['report_id']}",
                status="completed",
                subject=subject,
                code=_text(
                    f"Intrathecal transplantation of cord-tissue MSCs: {r['cells_given']} cells, "
                    f"route {r['route']}, {r['minutes']} minutes, lot {r['lot']}"
                ),
                performedDateTime=r["reported_at"],
                note=_note(r["notes"]),
            )
        )
    for e in t["adverse_events"]:
        out.append(
            AdverseEvent(
                id=f"adverse-event-{e['event_id']}",
                actuality="actual",
                subject=subject,
                event=_text(e["description"]),
                seriousness=_text(e["severity"]),
                recordedDate=e["reported_at"],
            )
        )
    for o in t["follow_up_outcomes"]:
        scales = _scale_observations(o, subject)
        out.append(
            Observation(
                id=f"outcome-{o['outcome_id']}",
                status="final",
                subject=subject,
                code=_text(f"Follow-up consult {o['consult_no']} outcome measures"),
                effectiveDateTime=o["recorded_at"],
                component=[
                    ObservationComponent(code=_text(name), valueInteger=o[name])
                    for name in EARLIER_SCORES
                    if o.get(name) is not None
                ]
                or None,
                hasMember=[Reference(reference=f"Observation/{s.id}") for s in scales] or None,
                note=_note(o["notes"]),
            )
        )
        out.extend(scales)
    for k in t["rehab_checkins"]:
        out.append(
            Observation(
                id=f"checkin-{k['checkin_id']}",
                status="final",
                subject=subject,
                code=_text(
                    f"Rehabilitation week {k['week']}: {k['walking_hours_per_day']} hours "
                    f"walking a day, {k['days_per_week']} days a week"
                ),
                effectiveDateTime=k["submitted_at"],
                note=_note(k["notes"]),
            )
        )
    # A booking id holds the journey id and the step: longer than FHIR's 64 characters.
    for n, b in enumerate(t["bookings"], 1):
        out.append(
            Appointment(
                id=f"booking-{n}",
                identifier=[Identifier(system=JOURNEY_ID_SYSTEM, value=b["booking_id"])],
                status="cancelled" if b["status"] == "cancelled" else "booked",
                serviceType=[_text(b["kind"])],
                start=b["starts_at"],
                end=b["ends_at"],
                participant=[AppointmentParticipant(actor=subject, status="accepted")],
            )
        )
    return out


def _scale_observations(outcome: dict[str, Any], subject: Reference) -> list[Observation]:
    """An Observation for each scale the outcome recorded, coded (`SCALE_CODES`), members of
    the consult's own Observation."""
    found = []
    for name in SCALE_FIELDS:
        value = outcome.get(name)
        if value is None:
            continue
        coded = SCALE_CODES[name]
        values: dict[str, Any] = {"valueInteger": value}
        if name == "ais_grade":
            values = {"valueCodeableConcept": _coded(AIS_GRADE_SYSTEM, value, f"AIS {value}")}
        elif name == "neurological_level":
            values = {"valueCodeableConcept": _coded(NEUROLOGICAL_LEVEL_SYSTEM, value, value)}
        found.append(
            Observation(
                # FHIR ids take letters, digits, '-' and '.': the field's name with hyphens.
                id=f"outcome-{outcome['outcome_id']}-{name.replace('_', '-')}",
                status="final",
                category=[_coded(OBSERVATION_CATEGORY, coded.category, coded.category)],
                code=_coded(coded.system, coded.code, coded.display),
                subject=subject,
                effectiveDateTime=outcome["recorded_at"],
                **values,
            )
        )
    return found


def _coded(system: str, code: str, display: str) -> CodeableConcept:
    return CodeableConcept(coding=[Coding(system=system, code=code, display=display)])


def subject_bundle(records: SubjectRecords, *, generated_at: datetime) -> dict[str, Any]:
    """The Bundle as JSON, each entry with its full URL (`urn:uuid`-free: ids are stable)."""
    journey_id = str(records.journey["journey_id"])
    subject = Reference(reference=f"Patient/patient-{records.patient['patient_id']}")
    bundle = Bundle(
        type="collection",
        identifier=Identifier(system=JOURNEY_ID_SYSTEM, value=journey_id),
        timestamp=generated_at,
        entry=[
            BundleEntry(fullUrl=f"{r.get_resource_type()}/{r.id}", resource=r)
            for r in _resources(records, subject)
        ],
    )
    document: dict[str, Any] = bundle.model_dump(mode="json", exclude_none=True)
    return document
