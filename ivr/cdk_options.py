"""Options ``ivr`` passes through to the CDK CLI (deploy, destroy, diff, bootstrap), and ``--env``, the environment
of the deployment file that every command reading one takes.

``--profile``, ``--region`` and ``--json``, which every command that talks to AWS shares, are in
``ivr/aws_options.py``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

#: The CDK CLI's ``--require-approval`` levels (``cdk deploy --help``).
Approval = Literal["never", "any-change", "broadening"]

ApprovalOption = Annotated[
    Approval, typer.Option("--require-approval", help="When the CDK CLI asks before deploying security changes")
]
OutputsFileOption = Annotated[
    Path | None, typer.Option("--outputs-file", help="Write the stack outputs to this JSON file (cdk deploy)")
]
ContextOption = Annotated[
    list[str] | None, typer.Option("--context", help="KEY=VALUE context for the CDK app (repeat)")
]


def check_context(pairs: list[str] | None) -> list[str]:
    """``--context`` values, each ``KEY=VALUE``; a bad one exits 2 naming it."""
    from ivr.output import err

    for pair in pairs or []:
        key, sep, _ = pair.partition("=")
        if not sep or not key:
            err.print(f"error: --context takes KEY=VALUE, not {pair!r}", markup=False)
            raise typer.Exit(2)
    return list(pairs or [])


#: The environment ``--env`` chose for the command being run (None: the deployment file's top level).
_chosen_env: ContextVar[str | None] = ContextVar("ivr_env", default=None)

EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        envvar="IVR_ENV",
        help="Environment of the deployment file (a name under its environments:, such as dev, staging, prod); "
        "without it, the file's top level",
        show_default=False,
    ),
]


def chosen_env() -> str | None:
    """The environment chosen with ``--env`` (or IVR_ENV) for the running command; None for the file's top level."""
    return _chosen_env.get()


@contextmanager
def using_env(env: str | None) -> Iterator[None]:
    """Run what the block calls as if ``--env env`` had been given (``ivr promote`` works on two environments)."""
    token = _chosen_env.set(env)
    try:
        yield
    finally:
        _chosen_env.reset(token)


def _with_env(callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback`` with an ``--env`` option: it sets the chosen environment while the command runs."""
    signature = inspect.signature(callback, eval_str=True)
    if "env" in signature.parameters:
        return callback

    @functools.wraps(callback)
    def command(*args: Any, env: str | None = None, **kwargs: Any) -> Any:
        with using_env(env):
            return callback(*args, **kwargs)

    parameters = [*signature.parameters.values()]
    parameters.append(inspect.Parameter("env", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=EnvOption))
    command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command


#: Commands that name their environments as arguments (``ivr promote FROM TO``), so take no ``--env``.
TWO_ENVIRONMENTS = frozenset({"promote"})


def add_env_option(app: typer.Typer) -> None:
    """Give every command of ``app`` (and of its groups) that reads a deployment file (``--config``) the one
    ``--env`` option: one definition, so that no command spells it otherwise or forgets it."""
    for info in app.registered_commands:
        if info.callback is None or info.name in TWO_ENVIRONMENTS:
            continue
        if "config" in inspect.signature(info.callback).parameters:
            info.callback = _with_env(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            add_env_option(group.typer_instance)
