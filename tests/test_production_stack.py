"""The production path, end to end: the built package, with production settings, behind TLS.

tests/production_stack.py says what runs and how it follows docker-compose.yml. A journey then
goes as people would take it: the patient sends the form through the proxy; a reviewer signs in
to the console at the organisation's OpenID Connect provider and approves the case; the patient
opens her page from the link in her email and books a consultation. The journey is then in
TELECONSULT, waiting on the specialist. A coordinator, signed in at the same provider, opens it
in the Temporal UI the proxy serves, decoded; the proxy serves the reviewer no Temporal UI.

The walk (tests/production_walk.py) keeps its figures, its time from the form to the booked
consultation and how long each step and page took to answer in the browsers, in
test-output/production-stack.json, for a person to read beside the same walk on `journeys dev`;
nothing asserts a time.
"""

import base64
import contextlib
import json
import re
import secrets
import ssl
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import werkzeug.serving
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from oidc_provider_mock import User
from oidc_provider_mock import app as provider_app
from playwright.async_api import Browser, Page, expect

from db.staff import StaffRepository
from devstack.demo_staff import seed_demo_calendars, seed_demo_staff
from devstack.mailbox import MailboxHandler
from devstack.ports import free_port
from devstack.services import connect_when_healthy
from integrations.internal_pki import issue, new_authority, write_certificate, write_key
from settings import Settings
from tests.browser import Screenshot, assert_accessible
from tests.helpers import read_mailbox
from tests.nginx import Nginx, render_template, start_nginx
from tests.production_stack import (
    ROOT,
    AppProcess,
    HostMap,
    TcpPostgres,
    build_wheel,
    fill_env_file,
    install_wheel,
    new_secret,
    run,
    service_environment,
    spawn,
    start_temporal,
    wait_for,
)
from tests.production_walk import (
    Walk,
    patient_books_a_consultation,
    patient_sends_the_form,
    reviewer_approves,
)

pytestmark = pytest.mark.e2e

PUBLIC_HOST = "localhost"
REVIEWER = User(
    sub="idp-reviewer-7",
    claims={"name": "Dr. Amal Nasser", "role": "reviewer", "email": "amal@clinic.test"},
)
COORDINATOR = User(
    sub="idp-coordinator-3",
    claims={"name": "Camila Ortiz", "role": "coordinator", "email": "camila@clinic.test"},
)
SMTP_USER = "journeys"
# The Temporal UI and its codec answer slowly on a busy machine.
UI_MS = 30_000
OUTPUT = ROOT / "test-output" / "production-stack.json"
TEMPLATES = ROOT / "ops" / "nginx" / "templates"


@dataclass
class ProductionStack:
    """What a test reads of the running stack."""

    url: str
    mail_dir: Path
    app_database_url: str
    owner_database_url: str
    workdir: Path
    nginx: Nginx
    apps: list[AppProcess]
    setup_output: str
    site_ca: Path
    installed: Path
    postgres: TcpPostgres
    environment: Callable[..., dict[str, str]]

    def emails_to(self, address: str) -> list[str]:
        return [m["Subject"] for m in read_mailbox(self.mail_dir) if m["To"] == address]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the Dockerfile's sources, installed from the lock into a fresh venv."""
    folder = tmp_path_factory.mktemp("package")
    return install_wheel(folder, build_wheel(folder))


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The organisation's OpenID Connect provider, on loopback."""
    app = provider_app(user_claims=[REVIEWER, COORDINATOR], require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def _mail_relay(folder: Path, certs: Path, password: str) -> Controller:
    """The SMTP relay: STARTTLS required before a login, a login required before mail."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs / "mail.pem", certs / "mail-key.pem")

    def authenticate(
        server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == SMTP_USER.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller = Controller(
            MailboxHandler(folder),
            hostname="127.0.0.1",
            port=free_port(),
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            authenticator=authenticate,
        )
        controller.start()
    return controller


def _payload_key() -> str:
    return "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="module")
async def stack(
    installed: Path,
    provider: str,
    radicale: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ProductionStack]:
    base = tmp_path_factory.mktemp("production")
    workdir = base / "run"
    workdir.mkdir()
    certs = base / "certs"
    # Whatever has started is stopped at the end, newest first, even when a later part fails.
    with contextlib.ExitStack() as cleanup:
        # The operator's TLS files: the internal ones from the package's own command, and a site
        # certificate from an authority of the test's (a public CA's, in a deployment).
        made = run(
            installed,
            [
                "internal-certs",
                str(certs),
                "--mail-name",
                "mailcatcher",
                "--mail-name",
                "127.0.0.1",
            ],
            {},
            workdir,
        )
        assert "temporal-client.pem" in made
        site_authority = new_authority(common_name="Test public CA")
        site_cert, site_key = issue(site_authority, PUBLIC_HOST, names=[PUBLIC_HOST, "127.0.0.1"])
        write_certificate(certs / "site.pem", site_cert)
        write_key(certs / "site-key.pem", site_key)
        site_ca = write_certificate(base / "site-ca.pem", site_authority.certificate)

        # The operator's two env files, from the examples.
        database = {
            "POSTGRES_SUPERUSER_PASSWORD": new_secret(),
            "TEMPORAL_DB_PASSWORD": new_secret(),
            "JOURNEYS_OWNER_DB_PASSWORD": new_secret(),
            "JOURNEYS_APP_DB_PASSWORD": new_secret(),
        }
        compose_variables = fill_env_file(
            ROOT / ".env.example",
            base / ".env",
            database
            | {"JOURNEYS_PUBLIC_HOST": PUBLIC_HOST, "GRAFANA_ADMIN_PASSWORD": new_secret()},
        )
        https_port, grpc_port, pg_port = free_port(), free_port(), free_port()
        url = f"https://{PUBLIC_HOST}:{https_port}"
        smtp_password = new_secret()
        fill_env_file(
            ROOT / "journeys.env.example",
            base / "journeys.env",
            {
                "JOURNEYS_LINK_SECRET": new_secret(),
                "JOURNEYS_CLINIC_WEBHOOK_SECRET": new_secret(),
                "JOURNEYS_AUDIT_KEY": new_secret(),
                "JOURNEYS_SESSION_SECRET": new_secret(),
                "JOURNEYS_PAYLOAD_KEYS": _payload_key(),
                "JOURNEYS_DATABASE_OWNER_URL": "postgresql://journeys_owner:"
                f"{database['JOURNEYS_OWNER_DB_PASSWORD']}@postgresql:5432/journeys",
                "JOURNEYS_DATABASE_URL": "postgresql://journeys_app:"
                f"{database['JOURNEYS_APP_DB_PASSWORD']}@postgresql:5432/journeys",
                "JOURNEYS_PUBLIC_BASE_URL": url,
                "JOURNEYS_TEMPORAL_UI_URL": f"{url}/temporal",
                # The test's proxy calls the API from loopback.
                "JOURNEYS_TRUSTED_PROXIES": "127.0.0.1",
                "JOURNEYS_SMTP_PASSWORD": smtp_password,
                "JOURNEYS_OIDC_JWKS_URL": f"{provider}/jwks",
                "JOURNEYS_OIDC_ISSUER": provider,
                "JOURNEYS_OIDC_AUDIENCE": "journeys-api",
                # The stack's Radicale takes any login (devstack/radicale.py).
                "JOURNEYS_CALDAV_PASSWORD": new_secret(),
                "JOURNEYS_OIDC_CLIENT_ID": "journeys-console",
                "JOURNEYS_OIDC_CLIENT_SECRET": new_secret(),
                "JOURNEYS_OIDC_ROLE_CLAIM": "role",
                "JOURNEYS_OIDC_PROVIDER_NAME": "Example Clinic",
            },
        )

        # PostgreSQL, its roles made by the script the postgres image runs.
        postgres = TcpPostgres(pg_port, database["POSTGRES_SUPERUSER_PASSWORD"])
        postgres.start()
        cleanup.callback(postgres.stop)
        postgres.run_init_script(
            ROOT / "ops" / "postgres" / "init-roles.sh",
            service_environment("postgresql", project=base, compose_variables=compose_variables),
        )

        # Temporal's dev server, on loopback, its UI under /temporal as compose serves it.
        temporal_port, ui_port = free_port(), free_port()
        temporal = start_temporal(
            base, port=temporal_port, ui_port=ui_port, codec_endpoint=f"{url}/codec"
        )
        cleanup.callback(temporal.stop)
        # As compose's `setup` waits on the server's health check.
        await connect_when_healthy(Settings(), f"127.0.0.1:{temporal_port}", within=120)

        # The SMTP relay and the proxy.
        mail_dir = base / "mail"
        relay = _mail_relay(mail_dir, certs, smtp_password)
        cleanup.callback(relay.stop)
        api_ports = [free_port(), free_port()]
        proxy_values = service_environment(
            "proxy", project=base, compose_variables=compose_variables
        )
        local = HostMap(paths={"/certs": certs})
        proxy_values = local.environment(proxy_values) | {
            "PROXY_HTTPS_LISTEN": f"127.0.0.1:{https_port}",
            "API_SERVERS": " ".join(f"server 127.0.0.1:{p};" for p in api_ports),
            "TEMPORAL_UI_SERVER": f"127.0.0.1:{ui_port}",
            "TEMPORAL_PROXY_LISTEN": f"127.0.0.1:{grpc_port}",
            "TEMPORAL_FRONTEND": f"127.0.0.1:{temporal_port}",
        }
        nginx = start_nginx(
            "\n".join(
                render_template(t, proxy_values) for t in sorted(TEMPLATES.glob("*.template"))
            ),
            directory=base / "nginx",
            ports=[https_port, grpc_port],
        )
        cleanup.callback(nginx.stop)

        # The app: compose's environment for each service, its hosts on loopback.
        hosts = HostMap(
            addresses={
                "postgresql:5432": f"127.0.0.1:{pg_port}",
                "proxy:7233": f"127.0.0.1:{grpc_port}",
                "caldav:5232": radicale.removeprefix("http://").rstrip("/"),
            },
            hosts={"mailcatcher": "127.0.0.1", "0.0.0.0": "127.0.0.1"},
            paths={"/certs": certs},
        )

        def environment(service: str, **local_ports: str) -> dict[str, str]:
            env = hosts.environment(
                service_environment(service, project=base, compose_variables=compose_variables)
            )
            env["JOURNEYS_SMTP_PORT"] = str(relay.port)
            return env | local_ports

        setup_output = run(installed, ["setup"], environment("setup"), workdir)
        apps = []
        for n in (1, 2):
            apps.append(
                spawn(
                    installed,
                    f"worker-{n}",
                    ["worker"],
                    environment(
                        "worker", JOURNEYS_WORKER_METRICS_ADDRESS=f"127.0.0.1:{free_port()}"
                    ),
                    workdir,
                )
            )
            cleanup.callback(apps[-1].stop)
        for n, port in enumerate(api_ports, 1):
            apps.append(
                spawn(
                    installed,
                    f"api-{n}",
                    ["api"],
                    environment(
                        "api",
                        JOURNEYS_API_HOST="127.0.0.1",
                        JOURNEYS_API_PORT=str(port),
                        JOURNEYS_API_METRICS_ADDRESS=f"127.0.0.1:{free_port()}",
                    ),
                    workdir,
                )
            )
            cleanup.callback(apps[-1].stop)

        trust = ssl.create_default_context(cafile=str(site_ca))

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz", verify=trust, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, "the API through the proxy", watch=apps)
        app_url = environment("api")["JOURNEYS_DATABASE_URL"]
        owner_url = environment("setup")["JOURNEYS_DATABASE_OWNER_URL"]
        # The people of the office: the demo staff, written as an operator would, the
        # reviewer and the coordinator who sign in at the provider (the console lets in only the
        # staff directory's active members), and the specialists' calendars.
        await seed_demo_staff(app_url, audit_key=environment("api")["JOURNEYS_AUDIT_KEY"].encode())
        conn = await asyncpg.connect(app_url)
        try:
            for user in (REVIEWER, COORDINATOR):
                await StaffRepository(conn).add(
                    staff_id=user.sub,
                    full_name=user.claims["name"],
                    email=user.claims["email"],
                    role=user.claims["role"],
                )
        finally:
            await conn.close()
        await seed_demo_calendars(radicale, username="journeys", password="journeys")

        yield ProductionStack(
            url=url,
            mail_dir=mail_dir,
            app_database_url=app_url,
            owner_database_url=owner_url,
            workdir=workdir,
            nginx=nginx,
            apps=apps,
            setup_output=setup_output,
            site_ca=site_ca,
            installed=installed,
            postgres=postgres,
            environment=environment,
        )


# The walk.


async def test_a_journey_goes_from_the_form_to_a_booked_consultation(
    stack: ProductionStack, browser: Browser, screenshot: Screenshot
) -> None:
    patient = await (await browser.new_context(ignore_https_errors=True, locale="en-GB")).new_page()
    reviewer = await (
        await browser.new_context(ignore_https_errors=True, locale="en-GB")
    ).new_page()
    walk = Walk(stack.url, stack.mail_dir, patient, reviewer)
    walk.measure(patient)
    walk.measure(reviewer)

    # The patient sends the form through the proxy; the acknowledgement links her page.
    acknowledgement = await patient_sends_the_form(walk)
    assert walk.patient_link(acknowledgement)
    await screenshot(patient, "production-inquiry-received")

    # The reviewer signs in at the provider and approves.
    await _sign_in_at_the_provider(stack, reviewer, REVIEWER)
    await reviewer_approves(walk)
    await screenshot(reviewer, "production-reviewer-approved")

    # The patient opens her page from the email that offers times, and books one.
    await patient_books_a_consultation(walk)
    figures = walk.figures()
    await screenshot(patient, "production-consultation-booked")
    await assert_accessible(patient)

    # The codec server cannot tell whose journey a payload is, so it decodes only for roles
    # that reach every journey, and the proxy serves the Temporal UI to them alone.
    await assert_accessible(reviewer)
    refused = await reviewer.goto(f"{stack.url}/temporal/namespaces/default/workflows")
    assert refused is not None and refused.status == 403

    # A coordinator signs in at the same provider and goes from the case page to the Temporal
    # UI the proxy serves: decoded for their role.
    coordinator = await (
        await browser.new_context(ignore_https_errors=True, locale="en-GB")
    ).new_page()
    await _sign_in_at_the_provider(stack, coordinator, COORDINATOR)
    await coordinator.goto(f"{stack.url}/staff/journeys/{walk.journey_id}")
    await coordinator.get_by_role("link", name="Open this journey in the Temporal Web UI").click()
    await coordinator.wait_for_url(f"{stack.url}/temporal/namespaces/default/workflows/**")
    main = coordinator.get_by_role("main")
    await expect(main).to_contain_text(f'"journey_id": "{walk.journey_id}"', timeout=UI_MS)
    await expect(coordinator.get_by_text("Codec Server could not connect")).to_have_count(0)
    await screenshot(coordinator, "production-temporal-ui")

    # Without a console session the proxy serves no Temporal UI, and sends to sign in.
    await patient.goto(f"{stack.url}/temporal/namespaces/default/workflows")
    assert patient.url.startswith(f"{stack.url}/staff/sign-in"), patient.url

    conn = await asyncpg.connect(stack.app_database_url)
    try:
        stage = await conn.fetchval(
            "SELECT stage FROM journeys WHERE journey_id = $1::uuid", walk.journey_id
        )
    finally:
        await conn.close()
    assert stage == "TELECONSULT"
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(figures, indent=2))

    # The runbook's restore (docs/operations.md), tried on what the journey left.
    await _restore_and_verify(stack, walk.journey_id)


async def _sign_in_at_the_provider(stack: ProductionStack, page: Page, user: User) -> None:
    await page.goto(f"{stack.url}/staff/sign-in")
    await page.get_by_role("button", name="Sign in with Example Clinic").click()
    await page.get_by_role("button", name=user.sub, exact=True).click()
    await page.wait_for_url(f"{stack.url}/staff/")
    await expect(page.get_by_role("banner")).to_contain_text(str(user.claims["name"]))


async def _restore_and_verify(stack: ProductionStack, journey_id: str) -> None:
    """A dump of the app's database restored as its owner into a new database, re-granted by
    the package's own command, its audit chain verified by it, the journey found in it."""
    dump = stack.workdir / "journeys.dump"
    stack.postgres.dump("journeys", dump)
    stack.postgres.create_database("journeys_restored", owner="journeys_owner")
    stack.postgres.restore(dump, "journeys_restored", role="journeys_owner")

    def restored(env: dict[str, str]) -> dict[str, str]:
        return {
            name: re.sub(r"/journeys$", "/journeys_restored", value)
            if name.startswith("JOURNEYS_DATABASE")
            else value
            for name, value in env.items()
        }

    migrated = run(
        stack.installed, ["migrate"], restored(stack.environment("setup")), stack.workdir
    )
    assert "none needed" in migrated
    verified = run(
        stack.installed, ["audit", "verify"], restored(stack.environment("api")), stack.workdir
    )
    assert "intact" in verified.lower() or "ok" in verified.lower(), verified
    app_url = restored({"JOURNEYS_DATABASE_URL": stack.app_database_url})["JOURNEYS_DATABASE_URL"]
    conn = await asyncpg.connect(app_url)
    try:
        assert (
            await conn.fetchval(
                "SELECT stage FROM journeys WHERE journey_id = $1::uuid", journey_id
            )
            == "TELECONSULT"
        )
        assert await conn.fetchval("SELECT count(*) FROM audit_log") > 0
    finally:
        await conn.close()
