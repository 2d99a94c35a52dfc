"""``ivr adopt``: read a console-built Connect instance (read-only) and write it as a deployment of the kit.

Exit codes: 0 everything was adopted, 1 written with objects that could not be (the summary says which and why),
2 nothing written (no credentials, an existing output without --force, the instance unreadable).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ivr.aws_options import JsonOption, ProfileOption, RegionOption, aws_command, profile_label, sts_client
from ivr.output import console, err, session_with_credentials
from ivr.progress import Stages

if TYPE_CHECKING:
    from runbooks.adopt import Written


def _account(session: object, region: str, given: str | None, profile: str | None) -> str:
    """The account the files deploy to: the credentials' (STS GetCallerIdentity); ``--account`` when given, with a
    warning when the credentials are of another one (the command only reads)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from runbooks.aws_steps import api_error

    try:
        found = str(sts_client(session, region).get_caller_identity()["Account"])  # type: ignore[arg-type]
    except (ClientError, BotoCoreError) as exc:
        if given:
            err.print(f"warning: cannot confirm the account of {profile_label(profile)}: {api_error(exc)}",
                      markup=False)  # fmt: skip
            return given
        err.print(f"error: cannot read the account of {profile_label(profile)}: {api_error(exc)}; give --account; "
                  "nothing was written", markup=False)  # fmt: skip
        raise typer.Exit(2) from None
    if given and given != found:
        err.print(f"warning: {profile_label(profile)} is of account {found}, but --account says {given}; what follows "
                  f"is read from account {found} and written for {given}", markup=False)  # fmt: skip
        return given
    return found


def _check_arguments(name: str | None, out: Path, force: bool) -> None:
    """Exit 2 with one line, before any AWS call, for a bad --name or an --out that is a file or holds files."""
    from runbooks.adopt import kit_name

    if out.exists() and not out.is_dir():
        err.print(f"error: {out}: is a file; adopt writes a folder", markup=False)
        raise typer.Exit(2)
    if name is not None and kit_name(name) != name:
        # regions/config.py: a deployment name is 3-32 lowercase letters, digits and hyphens (stack and bucket names).
        err.print(f"error: --name {name!r} is not a deployment name (3-32 lowercase letters, digits, hyphens; for "
                  f"example {kit_name(name)!r})", markup=False)  # fmt: skip
        raise typer.Exit(2)
    if out.is_dir() and any(out.iterdir()) and not force:
        err.print(f"error: {out} is not empty; adopt writes a new folder (or pass --force to overwrite the files it "
                  "writes there); nothing was read", markup=False)  # fmt: skip
        raise typer.Exit(2)


@aws_command(writes=False, region=True)
def adopt_command(
    instance_id: Annotated[str, typer.Option("--instance-id", help="The instance to adopt")],
    out: Annotated[Path, typer.Option("--out", help="A new folder to write the deployment into")],
    region: RegionOption = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Deployment name (default: from the instance's alias)")
    ] = None,
    dr_region: Annotated[
        str | None,
        typer.Option("--dr-region", help="DR region (default: the instance's replica's, else us-west-2)"),
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Account the files deploy to (default: the credentials')")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist in --out")] = False,
    profile: ProfileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read a live console-built instance (read-only, paced) and write it as a deployment: flows and modules as
    flow files, hours and queues in the deployment file, profiles, hierarchy, agent statuses, quick connects and
    users (identity only) in its staff file, prompts' audio in connect/prompts. docs/adopt.md says what it needs and
    how to bring the resources under the stack without recreating them."""
    from runbooks.adopt import AdoptError, kit_name, read_instance, write_adoption
    from runbooks.flow_loader import CONNECT_RETRIES

    _check_arguments(name, out, force)
    session = session_with_credentials(profile, region=region, consequence="nothing was written")
    from botocore.exceptions import BotoCoreError

    try:
        client = session.client("connect", region_name=region, config=CONNECT_RETRIES)
    except BotoCoreError as exc:  # no region given and none in the profile
        err.print(f"error: {exc}; give --region; nothing was read", markup=False)
        raise typer.Exit(2) from None
    where = str(client.meta.region_name)
    owner = _account(session, where, account, profile)
    stage = Stages()

    def progress(kind: str, count: int | None, why: str) -> None:
        line = f"{kind}: {count} read" if count is not None else f"{kind}: not read ({why}); the rest goes on"
        err.print(f"    {line}", markup=False, highlight=False)

    stage.start(f"reading instance {instance_id} in {where}, kind by kind (about 2 calls a second)")
    reads = read_instance(client, instance_id, progress=progress)
    stage.done(f"{sum(reads.calls.values())} API calls")
    if "instance" in reads.unreadable:
        err.print(f"error: instance {instance_id} in {where}: {reads.unreadable['instance']}; nothing was written",
                  markup=False)  # fmt: skip
        raise typer.Exit(2)
    replica_regions = reads.replica_regions
    dr = dr_region or (replica_regions[0] if replica_regions else "us-west-2" if where != "us-west-2" else "us-east-1")
    mode = "global-resiliency" if dr in replica_regions else "standalone"
    deployment_name = name or kit_name(str(reads.instance.get("InstanceAlias") or instance_id))
    try:
        written = write_adoption(reads, out, name=deployment_name, account=owner, dr_region=dr, dr_mode=mode,
                                 force=force)  # fmt: skip
    except AdoptError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    except OSError as exc:
        err.print(f"error: {out}: cannot write: {exc.strerror or exc}", markup=False)
        raise typer.Exit(2) from None
    _print_summary(written, reads.calls, as_json)
    raise typer.Exit(1 if written.skipped else 0)


def _print_summary(written: Written, calls: dict[str, int], as_json: bool) -> None:
    """What was written and what could not be (with why): JSON on stdout with --json, else a line each."""
    summary = {
        "config": str(written.config),
        "staff": str(written.staff),
        "written": [str(p) for p in written.files],
        "not_written": written.skipped,
        "notes": written.notes,
        "calls": calls,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        for path in written.files:
            console.print(f"wrote {path}", markup=False, highlight=False)
        for line in written.notes:
            console.print(f"note: {line}", markup=False, highlight=False)
        for line in written.skipped:
            console.print(f"not written: {line}", markup=False, highlight=False)
        console.print(f"{len(written.files)} files, {len(written.skipped)} not written; API calls: "
                      f"{sum(calls.values())}. Next: review and synthesize them (docs/adopt.md)", markup=False,
                      highlight=False)  # fmt: skip
