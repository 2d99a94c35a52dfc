"""The kit's own resources for the call simulator: its flows, hours, queues, bot and functions."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from flowkit.language.files import FLOWS_DIR
from flowkit.language.lint import PLACEHOLDER
from flowkit.language.portability import function_arn, in_region
from flowkit.simulate.engine import LambdaHandler, Resources
from flowkit.simulate.functions import LocalClinic, LocalContext, load_handler
from flowkit.simulate.lex import LexEmulator
from lex.model import BotModel
from regions.config import Deployment, Role


def flow_documents(*directories: Path, last: Path | None = None) -> dict[str, dict[str, Any]]:
    """Flow documents by name (Metadata.name, else the file name); later directories win, and ``last`` (a file in
    one of them) wins over every sibling that has its flow's name.

    A sibling file that is not a flow (not JSON, not UTF-8, a list, a package.json) is skipped: it cannot be
    called, and it must not stop a call to the flows next to it. Wrapped flows (DescribeContactFlow responses,
    pipeline files) are unwrapped.
    """
    from flowkit.language.lint import named_flows

    chosen = last.resolve() if last is not None else None
    flows: dict[str, dict[str, Any]] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.json"), key=lambda p: (p.resolve() == chosen, p)):
            for name, doc in named_flows(path):
                flows[name] = doc
                flows.setdefault(path.stem, doc)
    return flows


def bot_factories(models: Mapping[str, str], today: Callable[[], date]) -> dict[str, Callable[[], LexEmulator]]:
    """A flow's own bots: bot alias (ARN or placeholder name such as ``BotAliasArn``) -> model file.

    Each model runs in the Lex emulation without a code hook, in the locale of the contact's language.
    Raises ``lex.model.BotModelError`` naming a model file that cannot be read.
    """
    from lex.model import load_bot_model

    bots: dict[str, Callable[[], LexEmulator]] = {}
    for alias, path in models.items():
        model = load_bot_model(path)
        emulator = LexEmulator(model, next(iter(model.locales)), None, today=today, bot_name=model.name)
        bots[alias.strip("%")] = _always(emulator)
    return bots


def _always(emulator: LexEmulator) -> Callable[[], LexEmulator]:
    return lambda: emulator


def kit_resources(deployment: Deployment, role: Role, bot: BotModel, clinic: LocalClinic, *,
                  extra_flows: Path | None = None, lambdas: Mapping[str, str] | None = None,
                  today: Callable[[], date], entry_file: Path | None = None) -> Resources:  # fmt: skip
    """Resources of one region of a deployment, with the clinic functions running locally.

    In global-resiliency mode the flows run as the primary stack deploys them, the one set that Connect mirrors:
    ``%FunctionArn.X%`` is the ARN with ``$.AwsRegion``, which the engine resolves to the simulated region, and
    only this region's functions are reachable. A DR call thus reaches the DR functions through the same flow.
    """
    handlers: dict[str, LambdaHandler] = dict(clinic.handlers)
    for key, spec in (lambdas or {}).items():
        handlers[key] = load_handler(spec)
    region = deployment.region(role).region
    flows = flow_documents(*([FLOWS_DIR] + ([extra_flows] if extra_flows else [])), last=entry_file)
    if deployment.dr_mode == "global-resiliency":
        arns = {key: gr_function_arn(deployment, key) for key in list(handlers) if not key.startswith("arn:")}
        flows = {name: _with_function_arns(doc, arns) for name, doc in flows.items()}
        handlers |= {in_region(arn, region): handlers[key] for key, arn in arns.items()}
    locale = deployment.lex.locales[0]
    hook_key = clinic.code_hook
    hook = handlers[hook_key]

    def code_hook(event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = hook(event, LocalContext(deployment.function_name(hook_key)))
        return response

    # The emulator keeps no state between conversations: one instance (its patterns compiled once) serves all.
    emulator = LexEmulator(
        bot, locale, code_hook, today=today, bot_name=f"{deployment.name}-{bot.name}", locales=deployment.lex.locales
    )
    return Resources(
        flows=flows,
        hours={h.name: h for h in deployment.hours},
        queues={q.name: q.hours for q in deployment.queues},
        lambdas=handlers,
        lex=lambda: emulator,
        region=region,
        lambda_context=lambda key: LocalContext(_function_name(deployment, key)),
    )


#: The qualifier the kit's flows invoke (the ``live`` alias of every function).
LIVE = "live"


def gr_function_arn(deployment: Deployment, key: str) -> str:
    """How a global-resiliency flow names function ``key``, as the stack fills ``%FunctionArn.key%``."""
    return function_arn("aws", deployment.account, deployment.function_name(key), LIVE)


def _function_name(deployment: Deployment, key: str) -> str:
    return key.split(":")[6] if key.startswith("arn:") else deployment.function_name(key)


def _with_function_arns(doc: dict[str, Any], arns: Mapping[str, str]) -> dict[str, Any]:
    def fill(match: Any) -> str:
        if match.group(1) == "FunctionArn" and match.group(2) in arns:
            return arns[match.group(2)]
        return str(match.group(0))

    return dict(json.loads(PLACEHOLDER.sub(fill, json.dumps(doc))))
