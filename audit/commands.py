"""The auditors' commands of `journeys`: replay, export, timeline and `audit verify`.

They read histories and the audit log and change nothing but the audit log, where each read of
health data leaves its row; cli.py registers them beside the privacy officers' commands.
"""

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

import command_settings as checks
from audit.command_row import AS_HELP, audit_command
from settings import get_settings

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHistory

    from audit.replay import ReplayReport, ReplayResult


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


ADDRESS_HELP = "Temporal frontend host:port (default: JOURNEYS_TEMPORAL_ADDRESS or the dev server)"
NAMESPACE_HELP = "Temporal namespace (default: JOURNEYS_TEMPORAL_NAMESPACE)"
QUERY_HELP = "visibility query (default: every workflow closed in the last 30 days)"


def replay(
    query: str = typer.Option("", help=QUERY_HELP),
    path: Path | None = typer.Option(
        None, help="a history JSON file, or a folder of them, instead of the server"
    ),
    as_json: bool = typer.Option(False, "--json", help="one JSON report on stdout"),
    address: str = typer.Option("", help=ADDRESS_HELP),
    namespace: str = typer.Option("", help=NAMESPACE_HELP),
) -> None:
    """Replay histories against today's workflow code; exit 1 if any of them diverges."""
    from audit.replay import (
        HistoryFileError,
        ReplayReport,
        ReplayResult,
        default_query,
        histories_from_server,
        history_files,
        load_history_file,
    )
    from integrations.payload_keys import PayloadKeyError

    if path is not None and query:
        typer.echo("give --path or --query, not both", err=True)
        raise typer.Exit(2)

    async def run() -> ReplayReport:
        unreadable: list[ReplayResult] = []
        source: Iterable[WorkflowHistory] | AsyncIterable[WorkflowHistory]
        total: int | None
        if path is not None:
            histories: list[WorkflowHistory] = []
            for file in history_files(path):
                try:
                    histories.extend(load_history_file(file))
                except HistoryFileError as err:
                    unreadable.append(
                        ReplayResult(
                            workflow_id=file.name,
                            run_id="",
                            ok=False,
                            error=str(err),
                            error_type="unreadable file",
                        )
                    )
            source, total = histories, len(histories)
        else:
            client = await _temporal(address, namespace)
            selected = query or default_query()
            total = await _count(client, selected)
            source = histories_from_server(client, selected)
        report = await _replay_with_progress(source, total, quiet=as_json)
        report.results[:0] = unreadable
        return report

    try:
        report = asyncio.run(run())
    except (HistoryFileError, PayloadKeyError) as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    if as_json:
        body = {
            "replayed": len(report.results),
            "passed": report.passed,
            "failed": report.failed,
            "results": [r.model_dump(exclude={"raw_error"}) for r in report.results],
        }
        typer.echo(json.dumps(body, indent=1))
    else:
        for r in report.results:
            typer.echo(_replay_line(r))
        typer.echo(report.summary())
    raise typer.Exit(1 if report.failed else 0)


async def _replay_with_progress(
    source: "Iterable[WorkflowHistory] | AsyncIterable[WorkflowHistory]",
    total: int | None,
    *,
    quiet: bool,
) -> "ReplayReport":
    from audit.replay import replay_histories

    if quiet:
        return await replay_histories(source)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    # On stderr and transient: stdout keeps only the per-run lines and the summary.
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("replay", total=total, failed=0)
        failed = 0

        def advance(result: "ReplayResult") -> None:
            nonlocal failed
            failed += not result.ok
            progress.update(task, advance=1, failed=failed)

        return await replay_histories(source, on_progress=advance)


def _replay_line(r: "ReplayResult") -> str:
    run = f" (run {r.run_id})" if r.run_id else ""
    if r.ok:
        return f"pass  {r.workflow_id}{run}"
    event = f"event {r.event_id} {r.event_type or ''}".strip() if r.event_id else r.event_type
    command = f"code issued {r.command}" if r.command else None
    where = "; ".join(part for part in (event, r.event_detail, command) if part)
    return f"FAIL  {r.workflow_id}{run}: {where or r.error_type}\n      {r.error}"


def export(
    out: Path = typer.Option(..., help="folder to write <workflow_id>.<run_id>.json files to"),
    query: str = typer.Option("", help=QUERY_HELP),
    address: str = typer.Option("", help=ADDRESS_HELP),
    namespace: str = typer.Option("", help=NAMESPACE_HELP),
    as_staff: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Write the histories a query selects as JSON files: a corpus for `journeys replay`."""
    from audit.export import export_histories
    from audit.replay import default_query

    async def run() -> list[Path]:
        client = await _temporal(address, namespace)
        selected = query or default_query()
        await _count(client, selected)
        await asyncio.to_thread(_writable_folder, out)
        await audit_command(
            get_settings(), action="export", as_staff=as_staff, detail={"query": selected}
        )
        return await export_histories(client, selected, out)

    written = asyncio.run(run())
    typer.echo(
        f"exported {len(written)} {'history' if len(written) == 1 else 'histories'} to {out}"
    )


def _writable_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise checks.SettingProblem(f"--out {out}: {checks.one_line(err)}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise checks.SettingProblem(f"--out {out}: not writable")


def timeline(
    journey_id: str,
    as_json: bool = typer.Option(False, "--json", help="JSON instead of Markdown"),
    names: bool = typer.Option(
        False,
        "--names",
        help="show staff and patient names from JOURNEYS_DATABASE_URL (for those allowed)",
    ),
    address: str = typer.Option("", help=ADDRESS_HELP),
    namespace: str = typer.Option("", help=NAMESPACE_HELP),
    as_staff: str | None = typer.Option(
        None,
        "--as",
        help=f"{AS_HELP}; the timeline is then shown as that member's role reads it (an "
        "auditor: who did what and when, without what was decided about the patient)",
    ),
) -> None:
    """Who did what and when in one journey, oldest first, from its histories.

    With JOURNEYS_DATABASE_URL the command knows whether the journey's personal data was
    erased; without it, it leaves out what staff typed about the patient, as for an erased
    journey, since it cannot tell.
    """
    from temporalio.service import RPCError, RPCStatusCode

    from audit.timeline import (
        Disclosure,
        TimelineEntry,
        actor_names,
        disclosure_for,
        render_markdown,
        timeline_for,
    )
    from db.erasure import ErasureRepository
    from domain.actors import Role
    from domain.names import WORKFLOW_ID_PREFIX
    from domain.readers import SEES_PATIENT
    from integrations.payload_codec import PayloadDecodeError

    settings = get_settings()
    journey_id = journey_id.removeprefix(WORKFLOW_ID_PREFIX)
    known_journey = _is_uuid(journey_id)
    if names or as_staff is not None:
        # Who reads, and the names, are in the records, read after the audit row.
        checks.require_database_url(settings)

    async def erased() -> bool:
        if not settings.database_url:
            return True
        if not known_journey:
            return False
        conn = await checks.connect_database(settings)
        try:
            return await ErasureRepository(conn).tombstone(journey_id=journey_id) is not None
        finally:
            await conn.close()

    async def run() -> tuple[list[TimelineEntry], dict[str, str], Disclosure]:
        client = await _temporal(address, namespace)
        role: Role | None = None
        if names or as_staff is not None:
            # The row comes before anything is read for the reader or printed.
            _, acting = await audit_command(
                get_settings(),
                action="timeline_names" if names else "timeline",
                journey_id=journey_id if known_journey else None,
                as_staff=as_staff,
            )
            role = Role(acting) if as_staff is not None else None
        shown = disclosure_for(role, erased=await erased())
        try:
            entries = await timeline_for(client, journey_id, disclosure=shown)
        except PayloadDecodeError as err:
            raise checks.undecodable(err, settings, f"journey {journey_id}'s history") from None
        if not names or (role is not None and role not in SEES_PATIENT):
            return entries, {}, shown
        conn = await checks.connect_database(settings)
        try:
            return entries, await actor_names(conn, journey_id, entries), shown
        finally:
            await conn.close()

    try:
        entries, known, shown = asyncio.run(run())
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        typer.echo(f"no journey {journey_id} on the Temporal server", err=True)
        raise typer.Exit(2) from None
    if as_json:
        body = {
            "journey_id": journey_id,
            "names": known,
            "shown": shown.model_dump(),
            "entries": [e.model_dump(mode="json") for e in entries],
        }
        typer.echo(json.dumps(body, indent=1, ensure_ascii=False))
    else:
        typer.echo(render_markdown(entries, known, shown), nl=False)


async def _temporal(address: str, namespace: str) -> "Client":
    return await checks.temporal_client(get_settings(), address=address, namespace=namespace)


async def _count(client: "Client", query: str) -> int:
    """How many runs the visibility query selects; a query the server refuses is a problem
    with --query, found before anything is written."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        return (await client.count_workflows(query)).count
    except RPCError as err:
        if err.status != RPCStatusCode.INVALID_ARGUMENT:
            raise
        raise checks.SettingProblem(f"--query {query!r}: {checks.one_line(err)}") from None


def audit_verify(
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    anchor_seq: int | None = typer.Option(None, help="seq of a head recorded earlier"),
    anchor_hash: str | None = typer.Option(None, help="hash of that head"),
) -> None:
    """Walk the audit log's hash chain; name the first altered, deleted or reordered row.

    Exit status 1 when the chain is broken. A head printed by an earlier run (seq and hash),
    passed back as the anchor, also catches rows deleted from the end.
    """
    from audit.verify import ChainHead, VerifyReport, format_report, verify_chain

    settings = get_settings()
    anchor = (
        ChainHead(seq=anchor_seq, hash=anchor_hash)
        if anchor_seq is not None and anchor_hash
        else None
    )
    checks.require_database_url(settings)
    key = checks.audit_key(settings)

    async def run() -> VerifyReport:
        conn = await checks.connect_database(settings)
        try:
            return await verify_chain(conn, key, anchor=anchor)
        finally:
            await conn.close()

    report = asyncio.run(run())
    typer.echo(report.model_dump_json(indent=2) if as_json else format_report(report))
    raise typer.Exit(0 if report.ok else 1)


def register(app: typer.Typer, audit_app: typer.Typer) -> None:
    """Add the auditors' commands to `journeys` and to `journeys audit`."""
    app.command()(replay)
    app.command()(export)
    app.command()(timeline)
    audit_app.command("verify")(audit_verify)
