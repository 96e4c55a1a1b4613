"""The `journeys` command: the local stack, the worker, the API and the database."""

import asyncio
import logging

import typer

from settings import get_settings

app = typer.Typer(
    help="Patient-journey orchestrator: local stack, worker, API and operations.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def dev() -> None:
    """Start the whole local stack (PostgreSQL, Temporal with its UI, SMTP, worker, API)."""
    from devstack.ports import PortTaken
    from devstack.stack import run_dev

    try:
        status = asyncio.run(run_dev(get_settings()))
    except PortTaken as err:
        typer.echo(f"Cannot start: {err}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(status)


@app.command()
def worker() -> None:
    """Run a worker for the journey task queue until SIGINT or SIGTERM."""
    import worker as worker_module

    worker_module.main()


@app.command()
def api() -> None:
    """Serve the API and form page with uvicorn."""
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        proxy_headers=True,
        log_level="info",
    )


@app.command()
def migrate() -> None:
    """Apply the SQL migrations the database at JOURNEYS_DATABASE_URL lacks."""
    from db.migrate import migrate_url

    applied = asyncio.run(migrate_url(get_settings().require_database_url()))
    typer.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}")


@app.command()
def setup() -> None:
    """Prepare external services: apply migrations and register the search attributes."""
    from db.migrate import migrate_url
    from integrations.temporal_client import connect_temporal, ensure_search_attributes

    settings = get_settings()

    async def run() -> list[str]:
        applied = await migrate_url(settings.require_database_url())
        client = await connect_temporal(settings.temporal_target, settings.temporal_namespace)
        await ensure_search_attributes(client)
        return applied

    applied = asyncio.run(run())
    typer.echo(f"applied {len(applied)} migration(s); search attributes registered")


@app.command()
def token(
    role: str = typer.Option(
        ..., help="coordinator, reviewer, specialist, case_manager, medical_lead or auditor"
    ),
    name: str = typer.Option(..., help="the person's name"),
    subject: str = typer.Option("", help="the staff id; defaults to the name in lower case"),
    hours: int = typer.Option(12, min=1, max=24 * 30, help="how long the token is valid"),
) -> None:
    """Print a development staff token (signed with JOURNEYS_JWT_SECRET)."""
    from api.tokens import mint_staff_token
    from domain.actors import Role

    try:
        parsed = Role(role)
        value = mint_staff_token(
            get_settings(),
            subject=subject or name.lower().replace(" ", "-"),
            name=name,
            role=parsed,
            ttl_seconds=hours * 3600,
        )
    except ValueError:
        typer.echo(f"unknown staff role {role!r}", err=True)
        raise typer.Exit(2) from None
    typer.echo(value)


@app.command(name="patient-link")
def patient_link(journey_id: str) -> None:
    """Print a patient link token for a journey (development; emails carry these)."""
    from api.tokens import mint_patient_link
    from db.journey_queries import JourneyQueries

    settings = get_settings()

    async def patient_of() -> str | None:
        import asyncpg

        conn = await asyncpg.connect(settings.require_database_url())
        try:
            return await JourneyQueries(conn).patient_id(journey_id)
        finally:
            await conn.close()

    patient_id = asyncio.run(patient_of())
    if patient_id is None:
        typer.echo(f"no journey {journey_id}", err=True)
        raise typer.Exit(2)
    typer.echo(mint_patient_link(settings, journey_id=journey_id, patient_id=patient_id))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
