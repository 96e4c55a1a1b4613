"""The FastAPI application, built from settings; pool and Temporal client live in the lifespan."""

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
from fastapi import FastAPI
from temporalio.service import RPCError

from activities.messages import MessageComposer
from api import pages, partner_page, patient_page
from api.audit_trail import install_audit_trail
from api.claims import ClaimDesk
from api.codec import install_codec_server
from api.console import install_console
from api.intake import start_unstarted
from api.journey_watch import StageWatch
from api.limits import BodyLimitMiddleware
from api.link_mailer import LinkMailer
from api.observability import install_observability
from api.openapi import install_openapi
from api.patient_page.too_large import too_large_page
from api.problems import install_problem_handlers
from api.query import TAKES_NO_QUERY
from api.ratelimit import FormRateLimiter
from api.routes import (
    claims,
    health,
    inquiries,
    journeys,
    patient_links,
    privacy,
    steps,
    webhooks,
)
from api.schemas import ClinicEvent
from api.security_headers import install_security_headers
from api.staff_mailer import StaffMailer
from api.sweeps import Sweep, keep_sweeping
from api.tokens import TokenVerifier
from api.upload_access import may_upload
from audit.log import AuditWriter, address_key
from db.pool import create_pool
from integrations.smtp import smtp_sender
from integrations.temporal_client import connect_temporal
from observability.tracing import temporal_interceptors
from settings import Settings, get_settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Here rather than in create_app: building the app (for its OpenAPI) needs no secrets.
        settings.check_secrets()
        app.state.settings = settings
        app.state.verifier = TokenVerifier(settings)
        app.state.audit_key = settings.audit_key.get_secret_value().encode()
        # Client addresses are kept as tags under this key, in the audit log and the form's
        # rate limit alike.
        source_key = (
            settings.address_key.get_secret_value().encode()
            if settings.address_key
            else address_key(app.state.audit_key)
        )
        app.state.pool = await create_pool(
            settings.require_database_url(),
            min_size=settings.database_pool_min,
            max_size=settings.database_pool_max,
        )
        app.state.audit = AuditWriter(app.state.pool, app.state.audit_key, source_key=source_key)
        app.state.form_limiter = FormRateLimiter(
            app.state.pool, address_key=source_key, limit=settings.form_rate_limit_per_minute
        )
        # Connects on first use: only a new patient link and the staff directory's emails are
        # sent from here.
        mail = smtp_sender(settings)
        app.state.link_mailer = LinkMailer(
            settings=settings,
            pool=app.state.pool,
            sender=mail,
            composer=MessageComposer(sender=settings.mail_from),
        )
        # The coordinators' email when the staff directory deactivates someone.
        app.state.staff_mailer = StaffMailer(
            settings=settings,
            pool=app.state.pool,
            sender=mail,
            composer=MessageComposer(sender=settings.mail_from),
        )
        app.state.metrics.watch_records(app.state.pool)
        app.state.stage_watch = StageWatch(settings.require_database_url())
        # Lazy, so the API starts (and /readyz says why it is not ready) while Temporal is down.
        app.state.temporal = await connect_temporal(
            settings, lazy=True, interceptors=temporal_interceptors()
        )
        sweeps = []
        if settings.intake_sweep_seconds > 0:
            every = timedelta(seconds=settings.intake_sweep_seconds)
            start = functools.partial(
                start_unstarted,
                pool=app.state.pool,
                client=app.state.temporal,
                task_queue=settings.task_queue,
                older_than=every,
                console_base_url=settings.public_base_url,
                policy=settings.journey_policy(),
            )
            sweeps.append(
                Sweep(
                    run=start,
                    every=every,
                    done="started %d journey(s) whose start had been lost",
                    not_yet="could not start pending journeys yet: %s",
                    retried=(RPCError, OSError),
                    level=logging.WARNING,
                )
            )
        if settings.claim_sweep_seconds > 0:
            sweeps.append(
                Sweep(
                    run=ClaimDesk.of(app).sweep,
                    every=timedelta(seconds=settings.claim_sweep_seconds),
                    done="ended %d claim(s) no longer live",
                    not_yet="could not end lapsed claims yet: %s",
                    retried=(asyncpg.PostgresError, OSError),
                )
            )
        sweepers = [asyncio.create_task(keep_sweeping(sweep)) for sweep in sweeps]
        try:
            yield
        finally:
            for task in sweepers:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            app.state.metrics.stop_watching()
            await app.state.stage_watch.close()
            await mail.close()
            await app.state.pool.close()

    app = FastAPI(
        title="Patient journeys",
        version="0.1.0",
        description=(
            "Intake and actions of patient journeys for stem-cell therapy abroad. "
            "Errors are RFC 9457 problem+json."
        ),
        lifespan=lifespan,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes,
        page_refusal=too_large_page,
        may_upload=may_upload,
    )
    install_problem_handlers(app)
    install_audit_trail(app)
    install_observability(app)
    app.include_router(pages.router)
    app.include_router(patient_page.router)
    app.include_router(partner_page.router)
    install_console(app, settings)
    app.include_router(health.router)
    # Every API route refuses the query parameters it does not take (api/query.py). These
    # routers' routes take none; each route of the journeys and privacy routers says its own.
    no_query = [TAKES_NO_QUERY]
    app.include_router(inquiries.router, prefix=API_PREFIX, dependencies=no_query)
    app.include_router(journeys.router, prefix=API_PREFIX)
    for router in (steps.router, patient_links.router, claims.router):
        app.include_router(router, prefix=API_PREFIX, dependencies=no_query)
    app.include_router(privacy.router, prefix=API_PREFIX)
    app.include_router(webhooks.router, prefix=API_PREFIX, dependencies=no_query)
    install_codec_server(app, settings)
    install_security_headers(app, settings)
    # The clinic webhook reads its body itself (see api.openapi).
    install_openapi(app, body_models=[ClinicEvent])
    return app
