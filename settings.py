"""Configuration from `JOURNEYS_*` environment variables, read once and handed in."""

import ipaddress
from datetime import time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.clinic_hours import (
    CLINIC_TIME_ZONE,
    VISIT_DAY_END,
    VISIT_DAY_START,
    checked_time_zone,
    wall_clock,
)
from domain.names import TASK_QUEUE, WORKER_DEPLOYMENT
from domain.policy import JourneyPolicy
from i18n import catalogue_for, supported_languages
from integrations.payload_keys import payload_key_problems

# Production refuses a secret shorter than this: 32 characters of `token_urlsafe` output carry
# 192 bits, past any guessing, while shorter values tend to be typed by hand, not generated.
MIN_SECRET_LENGTH = 32
# `host:port` (a host name, an IPv4 address or a bracketed IPv6 one), or empty for none.
ADDRESS_PATTERN = r"^$|^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$"
MAX_LINK_TTL_DAYS = 180
NEW_SECRET_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
# Fields whose defaults are development values anyone can read in this repository. Not
# `jwt_secret`: production accepts only the OIDC issuer's staff tokens, so it signs nothing
# production takes.
PRODUCTION_SECRETS = (
    "link_secret",
    "clinic_webhook_secret",
    "audit_key",
    "session_secret",
)


# Passwords a database is set up with in examples and by habit, tried first by anyone who
# reaches the port (the compose file's placeholder among them).
WELL_KNOWN_PASSWORDS = frozenset(
    {"postgres", "password", "journeys", "change-me", "changeme", "secret", "admin", "root"}
)


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address or `localhost`; a name is not resolved, so any
    other name counts as reachable from elsewhere."""
    name = host.strip().removeprefix("[").removesuffix("]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def database_password_problem(setting: str, url: str | None) -> str | None:
    """Why the password in a PostgreSQL URL is not fit for production, if it is not. A
    connection over a Unix socket (no host, or `host=/path`) is left alone: the server may
    know the connecting user from the operating system (peer authentication)."""
    if not url:
        return None
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or next(iter(query.get("host", [])), "")
    if not host or host.startswith("/"):
        return None
    password = parts.password
    if password is None:
        password = next(iter(query.get("password", [])), None)
    if password is None:
        # None at all: libpq's password file, PGPASSWORD or a client certificate gives it.
        return None
    password = unquote(password)
    if not password.strip():
        return f"{setting} has an empty password"
    if password.lower() in WELL_KNOWN_PASSWORDS:
        return f"{setting} has a well-known password: give the role one of its own"
    return None


def trusted_networks(value: str) -> list[str]:
    """Comma-separated addresses and networks, each checked and written as uvicorn compares
    them: it takes anything it cannot parse for a name no client address ever equals."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        try:
            parsed = ipaddress.ip_network(entry)
        except ValueError as err:
            raise ValueError(
                f"{env_name('trusted_proxies')}: {entry!r} is not an address or a network "
                f"such as 10.0.0.0/24 ({err})"
            ) from None
        networks.append(str(parsed.network_address if parsed.num_addresses == 1 else parsed))
    return networks


class InsecureSettings(RuntimeError):
    """Production settings with a secret that is unset, weak or the development default."""


def env_name(field: str) -> str:
    return f"JOURNEYS_{field.upper()}"


class Settings(BaseSettings):
    """Every setting of the worker, the API and the local stack.

    Where an address (`temporal_address`, `database_url`, `smtp_host`) is set, `journeys dev`
    uses that service instead of starting the embedded one.
    """

    model_config = SettingsConfigDict(env_prefix="JOURNEYS_", extra="ignore")

    # Production unless `journeys dev` or the tests say otherwise, so that a deployment which
    # forgets to set it still refuses the development secrets below.
    environment: Literal["development", "production"] = "production"

    state_dir: Path = Field(default=Path(".journeys"), description="local state of `journeys dev`")

    temporal_address: str | None = None
    temporal_namespace: str = "default"
    # How every client of Temporal (worker, API, `journeys` commands) reaches the frontend
    # (docs/temporal-connection.md). Production refuses to reach it without TLS; each setting
    # below turns TLS on, and `temporal_tls` alone verifies the server by the system's CAs.
    temporal_tls: bool = False
    # PEM file of the CA that signed the frontend's certificate, instead of the system's CAs.
    temporal_tls_ca_file: Path | None = None
    # PEM files of the client certificate and its key, for mutual TLS: both or neither.
    temporal_tls_cert_file: Path | None = None
    temporal_tls_key_file: Path | None = None
    # The name the frontend's certificate is verified against, also sent as SNI and as the
    # HTTP/2 authority, when it is not the host of `temporal_address` (an IP address, say).
    temporal_tls_server_name: str | None = None
    # A Temporal Cloud API key, sent as a bearer token on every call; implies TLS.
    temporal_api_key: SecretStr | None = None
    task_queue: str = TASK_QUEUE
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    # Where people open the Temporal Web UI, with the path it is served under if any (the
    # production proxy serves it at https://<host>/temporal); by default the embedded UI's
    # (http://127.0.0.1:8233 with the default port). The console links journeys there, and
    # its origin is the one the codec server grants CORS to.
    temporal_ui_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+(/[^?#]*)?$")
    # Keys of the payload codec, `key_id:base64key,...` (integrations/payload_keys.py): the
    # first encrypts, all decrypt. Production refuses to start without them; `journeys dev`
    # makes one under state_dir.
    payload_keys: SecretStr | None = None

    # Worker Versioning (docs/changing-workflow-code.md, "Rolling out a new build"): every
    # worker polls as the version `worker_build_id` of the deployment, and Temporal sends new
    # workflow tasks to the deployment's current version only.
    # No dot: Temporal writes a version as `<deployment>.<build id>` and splits at the first.
    worker_deployment_name: str = Field(
        default=WORKER_DEPLOYMENT, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
    )
    # Unset, the installed package's version and a digest of its workflow code
    # (integrations/worker_deployment.py, `installed_build_id`); a deployment pipeline may
    # set its image tag or commit instead, as long as different workflow code never shares one.
    worker_build_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"
    )
    # When a starting worker makes its own version current: "first" only on a deployment
    # that has none yet (a fresh installation; later builds wait for `journeys deployment
    # promote`), "always" at every start (`journeys dev`), "never".
    worker_promote: Literal["first", "always", "never"] = "first"

    # Journeys cached in the worker's memory between steps. A journey waits days between
    # steps, so this is sized to the journeys being acted on at once, not to the open ones: an
    # evicted journey is rebuilt from its history (a few hundred events, tens of
    # milliseconds) when someone next acts on it.
    worker_cached_runs: int = Field(default=250, ge=0)
    # Re-import the workflow code inside the sandbox for every run, so that the sandbox
    # checks it (the test suite does); off, it is imported once and shared, which takes less
    # memory per journey.
    sandbox_reimport_workflows: bool = False

    # The role the worker and the API run as: it reads and writes rows, and may not alter
    # tables or change the audit log (db/roles.py); production refuses a more powerful one.
    database_url: str | None = None
    # The schema owner's connection, for `journeys setup` and `journeys migrate` only: they
    # migrate as this role and grant the role of `database_url` what it needs. Unset, they
    # use `database_url` (one role for everything, as in development).
    database_owner_url: str | None = None
    database_pool_min: int = 1
    database_pool_max: int = 10

    # CalDAV server of the specialists' calendars; `journeys dev` starts Radicale when unset.
    caldav_url: str | None = None
    caldav_port: int = 5232
    caldav_username: str = "journeys"
    caldav_password: SecretStr = SecretStr("journeys")

    smtp_host: str | None = None
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout_seconds: float = 30.0
    smtp_ca_file: str | None = None
    mail_from: str = "Patient Journeys <journeys@journeys.localhost>"
    staff_notify_email: str = "coordinators@journeys.localhost"
    medical_lead_email: str = "medical-lead@journeys.localhost"
    # The languages of these two role mailboxes (docs/i18n.md, "Staff emails"). A member of
    # staff is written to in their directory language; a shared mailbox has no entry, and a
    # holder's language would change with whoever joins or leaves the role. The medical lead's
    # mailbox is written to only while the directory has no active medical lead.
    staff_notify_language: str = "en"
    medical_lead_language: str = "en"
    hotel_partner_email: str = "reservations@hotel.journeys.localhost"
    transfer_partner_email: str = "bookings@transfer.journeys.localhost"
    # How the clinic visit is reserved: "fhir" through the clinic's FHIR R4 API, "email" by a
    # request the clinic answers and a coordinator records, "record" in our records only.
    clinic_mode: Literal["fhir", "email", "record"] = "email"
    clinic_email: str = "international@clinic.journeys.localhost"
    clinic_fhir_url: str | None = None
    clinic_fhir_token: SecretStr | None = None
    clinic_name: str = "Partner Clinic"
    clinic_address: str = "Clinic address to be configured"
    # The clinic's clock: its IANA time zone, and the local hours each of the two visit days
    # starts and ends at (HH:MM). New journeys carry them in their policy; the visit days, the
    # admission's deadline and the visit's times in emails and pages follow that clock.
    clinic_time_zone: str = CLINIC_TIME_ZONE
    clinic_visit_day_start: time = VISIT_DAY_START
    clinic_visit_day_end: time = VISIT_DAY_END
    video_link_base: str = "https://video.journeys.localhost/consult"
    # A booked trip: the patient changes her dates on her page until this many days before
    # visit day 1 (then her case manager arranges it); a hotel or transfer request still
    # unconfirmed this many days before the arrival becomes a coordinator's incident. New
    # journeys carry both in their policy.
    travel_change_cutoff_days: int = Field(default=7, ge=0, le=60)
    partner_confirmation_days: int = Field(default=7, ge=0, le=60)

    # Tokens. The defaults are for development only: production sets every secret, and
    # verifies staff tokens from its OIDC issuer's key set (oidc_jwks_url).
    jwt_secret: SecretStr = SecretStr("dev-staff-token-secret-change-me-0123456789")
    jwt_issuer: str = "journeys-dev"
    jwt_audience: str = "journeys-api"
    oidc_jwks_url: str | None = None
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    # The staff console signs people in at the issuer above (discovered from
    # `<oidc_issuer>/.well-known/openid-configuration`) as this client, with PKCE. Without a
    # client secret it signs in as a public client, on PKCE alone.
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    # The ID token claim holding the staff role; a list holding it counts too.
    oidc_role_claim: str = "role"
    # Shown on the console's sign-in button: "Sign in with <oidc_provider_name>".
    oidc_provider_name: str = "your organisation"
    # Signs the staff console's session cookie.
    session_secret: SecretStr = SecretStr("dev-console-session-secret-change-me-0123456789")
    # A console session ends after this long without a request (automatic logoff, HIPAA
    # 164.312(a)(2)(iii)), and in any case this long after sign-in.
    session_idle_minutes: int = Field(default=15, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    # A claim on a case or an incident (api/claims.py) lapses this long after its last action
    # (its making, or its holder keeping it), so that a claim left behind frees the work. The
    # review's deadline and its escalations run from the inquiry whatever is claimed: a claim
    # says who is on a case, it buys no time.
    claim_lapse_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    # How often the API ends and audits the claims that lapsed (0: only as each journey's
    # claims are next read or changed).
    claim_sweep_seconds: float = Field(default=60.0, ge=0)
    link_secret: SecretStr = SecretStr("dev-patient-link-secret-change-me-0123456789")
    # A link is a bearer token in an email, and whoever holds a forwarded or leaked one reads
    # and acts on the journey until it expires. Every email the journey sends carries a fresh
    # one, and its longest silence (from the 6-month follow-up's reminder to the 12-month
    # one's) is about six months, so a link needs to live no longer: longer only widens the
    # window of a lost link, and an expired link's page says how to get a new one.
    link_ttl_days: int = Field(default=90, ge=1, le=MAX_LINK_TTL_DAYS)
    # The link a hotel's or transfer partner's request email carries to confirm it: signed
    # with the link secret under its own audience, for one booking, used once.
    partner_link_ttl_days: int = Field(default=30, ge=1, le=MAX_LINK_TTL_DAYS)
    # Key of the audit log's hash chain; `journeys audit verify` needs the same key.
    audit_key: SecretStr = SecretStr("dev-audit-chain-key-change-me-0123456789")
    # Keys the tags that stand in the audit log for client addresses (personal data). Unset,
    # a key is derived from `audit_key`; set apart, those who verify the chain cannot test
    # which address made a request.
    address_key: SecretStr | None = None
    # Days a closed journey's records are kept before the daily schedule erases them. Law on
    # medical records asks years of most clinics (5 to 30 depending on the country): the
    # default keeps ten, and a legal hold keeps a journey past any of it.
    retention_days: int = Field(default=3650, ge=1)
    # Days the Temporal server keeps a closed journey's histories (the namespace's
    # retention), for replay and timelines; they hold no personal data beyond ids.
    temporal_retention_days: int = Field(default=90, ge=1)
    clinic_webhook_secret: SecretStr = SecretStr("dev-clinic-webhook-secret-change-me")
    webhook_tolerance_seconds: int = 300
    form_rate_limit_per_minute: int = 10
    max_upload_bytes: int = 10 * 1024 * 1024

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # The reverse proxies in front of the API, as addresses and networks (`10.0.0.0/24`),
    # comma-separated; empty for none. From these peers alone `journeys api` takes the
    # client's address from X-Forwarded-For and the scheme from X-Forwarded-Proto; any other
    # peer is the client, whatever it sends. Loopback by default: a proxy on the same host
    # works as is, and a peer on loopback already runs on that host.
    trusted_proxies: str = "127.0.0.1,::1"
    public_base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 64 * 1024
    # How long a step waits for its journey's answer before the API answers 504. A journey
    # answers within a second or two once it has acted; longer means no worker takes its
    # tasks, and a proxy in front would give up soon after anyway.
    step_answer_seconds: float = Field(default=30.0, gt=0, le=55)
    # How often the API looks for stored inquiries whose journey start was lost (0: never).
    intake_sweep_seconds: float = 60.0

    # Where Prometheus scrapes the worker (the Temporal SDK's metrics and the activities') and
    # the API (its requests, steps and the journeys read from PostgreSQL): `host:port`, empty
    # for none. The API's is a server of its own, apart from the public port, so the public
    # cannot read it.
    worker_metrics_address: str = Field(default="127.0.0.1:9464", pattern=ADDRESS_PATTERN)
    api_metrics_address: str = Field(default="127.0.0.1:9465", pattern=ADDRESS_PATTERN)
    # The level of the JSON log lines the worker and the API write to stderr.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("staff_notify_language", "medical_lead_language")
    @classmethod
    def _language_has_a_catalogue(cls, value: str) -> str:
        # Refused rather than written in English: whoever set it expects that language.
        found = catalogue_for(value)
        if found is None:
            raise ValueError(
                f"no catalogue for {value!r}; the languages are "
                f"{', '.join(supported_languages())} (docs/i18n.md says how to add one)"
            )
        return found

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        return ",".join(trusted_networks(value))

    @field_validator("clinic_time_zone")
    @classmethod
    def _clinic_zone_exists(cls, value: str) -> str:
        return checked_time_zone(value)

    @field_validator("clinic_visit_day_start", "clinic_visit_day_end")
    @classmethod
    def _visit_hours_on_the_clinic_clock(cls, value: time, info: ValidationInfo) -> time:
        wall_clock(value)
        start = info.data.get("clinic_visit_day_start")
        if info.field_name == "clinic_visit_day_end" and start is not None and value <= start:
            raise ValueError(
                f"{value:%H:%M} is not after JOURNEYS_CLINIC_VISIT_DAY_START ({start:%H:%M}): "
                "a visit day ends after it starts"
            )
        return value

    def journey_policy(self) -> JourneyPolicy:
        """The policy a new journey starts with: the defaults, on the clinic's clock, with the
        trip's cutoffs as set."""
        return JourneyPolicy(
            clinic_time_zone=self.clinic_time_zone,
            visit_day_start=self.clinic_visit_day_start,
            visit_day_end=self.clinic_visit_day_end,
            travel_change_cutoff=timedelta(days=self.travel_change_cutoff_days),
            partner_confirmation_before=timedelta(days=self.partner_confirmation_days),
        )

    @property
    def claim_lapse(self) -> timedelta:
        """How long a claim lives after its last action (JOURNEYS_CLAIM_LAPSE_MINUTES)."""
        return timedelta(minutes=self.claim_lapse_minutes)

    @property
    def trusted_proxy_list(self) -> list[str]:
        """JOURNEYS_TRUSTED_PROXIES as uvicorn's `forwarded_allow_ips` takes it."""
        return [entry for entry in self.trusted_proxies.split(",") if entry]

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def temporal_tls_enabled(self) -> bool:
        """Whether clients reach Temporal over TLS: asked for, or implied by any TLS setting
        or by an API key, which must never travel in the clear."""
        return bool(
            self.temporal_tls
            or self.temporal_tls_ca_file
            or self.temporal_tls_cert_file
            or self.temporal_tls_key_file
            or self.temporal_tls_server_name
            or self.temporal_api_key
        )

    @property
    def console_redirect_url(self) -> str:
        """Where the OIDC provider sends staff back to after they sign in."""
        return f"{self.public_base_url.rstrip('/')}/staff/auth/callback"

    @property
    def ui_url(self) -> str:
        return (self.temporal_ui_url or f"http://127.0.0.1:{self.temporal_ui_port}").rstrip("/")

    @property
    def ui_origin(self) -> str:
        """The UI's origin (scheme, host and port), as browsers send it in `Origin`."""
        scheme, _, rest = self.ui_url.partition("://")
        return f"{scheme}://{rest.partition('/')[0]}"

    @property
    def smtp_target_host(self) -> str:
        return self.smtp_host or "127.0.0.1"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError(
                "JOURNEYS_DATABASE_URL is not set; `journeys dev` sets it for the embedded "
                "PostgreSQL, elsewhere set it to the PostgreSQL server to use"
            )
        return self.database_url

    def require_owner_database_url(self) -> str:
        """Where migrations and grants run: the schema owner's URL, else the app's."""
        return self.database_owner_url or self.require_database_url()

    def production_problems(self) -> list[str]:
        """Why these settings may not run in production; empty in development."""
        if self.environment != "production":
            return []
        problems = []
        for name in PRODUCTION_SECRETS:
            value = getattr(self, name).get_secret_value()
            development = type(self).model_fields[name].default.get_secret_value()
            if not value.strip():
                problems.append(f"{env_name(name)} is empty")
            elif value == development:
                problems.append(f"{env_name(name)} is unset or has its development value")
            elif len(value) < MIN_SECRET_LENGTH:
                problems.append(
                    f"{env_name(name)} is {len(value)} characters; "
                    f"at least {MIN_SECRET_LENGTH} are needed"
                )
        keys = self.payload_keys.get_secret_value() if self.payload_keys is not None else None
        problems.extend(payload_key_problems(keys))
        problems.extend(self._connection_problems())
        if not self.temporal_tls_enabled:
            problems.append(
                "JOURNEYS_TEMPORAL_TLS is off, so Temporal would be reached in the clear: set "
                "JOURNEYS_TEMPORAL_TLS=true, JOURNEYS_TEMPORAL_TLS_CA_FILE, "
                "JOURNEYS_TEMPORAL_TLS_CERT_FILE and JOURNEYS_TEMPORAL_TLS_KEY_FILE (mutual "
                "TLS), or JOURNEYS_TEMPORAL_API_KEY (Temporal Cloud)"
            )
        return problems

    def _connection_problems(self) -> list[str]:
        """How production settings would let staff or patient data travel or be taken in the
        clear, or on a credential anyone can guess."""
        problems = []
        if urlsplit(self.public_base_url).scheme != "https":
            problems.append(
                f"JOURNEYS_PUBLIC_BASE_URL is {self.public_base_url}: patients and staff reach "
                "production over HTTPS only; set the https:// address of the proxy"
            )
        if self.smtp_security == "none" and not is_loopback(self.smtp_target_host):
            problems.append(
                f"JOURNEYS_SMTP_SECURITY is none, so emails (patients' names and links) would "
                f"reach {self.smtp_target_host} in the clear: set starttls or tls (only a relay "
                "on loopback may take them without)"
            )
        oidc = {
            "JOURNEYS_OIDC_JWKS_URL": self.oidc_jwks_url,
            "JOURNEYS_OIDC_ISSUER": self.oidc_issuer,
            "JOURNEYS_OIDC_AUDIENCE": self.oidc_audience,
        }
        missing = [name for name, value in oidc.items() if not (value or "").strip()]
        if missing:
            problems.append(
                f"{', '.join(missing)} unset: production accepts only the OIDC issuer's "
                "staff tokens (RS256 or ES256, checked against its key set, issuer and "
                "audience), never ones signed with JOURNEYS_JWT_SECRET"
            )
        caldav = self.caldav_password.get_secret_value()
        if not caldav.strip():
            problems.append("JOURNEYS_CALDAV_PASSWORD is empty")
        elif caldav.lower() in WELL_KNOWN_PASSWORDS:
            problems.append("JOURNEYS_CALDAV_PASSWORD is unset or has its development value")
        for setting, url in (
            ("JOURNEYS_DATABASE_URL", self.database_url),
            ("JOURNEYS_DATABASE_OWNER_URL", self.database_owner_url),
        ):
            problem = database_password_problem(setting, url)
            if problem:
                problems.append(problem)
        return problems

    def check_secrets(self) -> None:
        """Refuse to run production with development or weak secrets (the API and the worker
        call this before they connect to anything)."""
        problems = self.production_problems()
        if problems:
            raise InsecureSettings(
                "refusing to start in production (JOURNEYS_ENVIRONMENT=production, the "
                "default):\n"
                + "".join(f"  - {problem}\n" for problem in problems)
                + f"Make each secret with\n  {NEW_SECRET_COMMAND}\n"
                "and set it in the environment (docker-compose.yml reads journeys.env). "
                "For a local stack run `journeys dev`, which sets "
                "JOURNEYS_ENVIRONMENT=development."
            )


def read_env_file(path: Path | None) -> None:
    """Make every `Settings()` from now on, `get_settings()`'s too, read what the environment
    lacks from the dotenv file `path` (`journeys --env-file`, or the running `journeys dev`'s:
    command_settings.py); None: the environment alone."""
    Settings.model_config["env_file"] = path
    get_settings.cache_clear()


@lru_cache
def get_settings() -> Settings:
    return Settings()
