"""The kit's own resources for the call simulator: its flows, hours, queues, bot and functions."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from flowkit.language.files import FLOWS_DIR
from flowkit.simulate.engine import LambdaHandler, Resources
from flowkit.simulate.functions import LocalClinic, LocalContext, load_handler
from flowkit.simulate.lex import LexEmulator
from lex.model import BotModel
from regions.config import Deployment, Role


def flow_documents(*directories: Path) -> dict[str, dict[str, Any]]:
    """Flow documents by name (Metadata.name, else the file name); later directories win."""
    flows: dict[str, dict[str, Any]] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            name = (doc.get("Metadata") or {}).get("name") or path.stem
            flows[name] = doc
            flows.setdefault(path.stem, doc)
    return flows


def kit_resources(deployment: Deployment, role: Role, bot: BotModel, clinic: LocalClinic, *,
                  extra_flows: Path | None = None, lambdas: Mapping[str, str] | None = None,
                  today: Callable[[], date]) -> Resources:  # fmt: skip
    """Resources of one region of a deployment, with the clinic functions running locally."""
    handlers: dict[str, LambdaHandler] = dict(clinic.handlers)
    for key, spec in (lambdas or {}).items():
        handlers[key] = load_handler(spec)
    directories = [FLOWS_DIR] + ([extra_flows] if extra_flows else [])
    locale = deployment.lex.locales[0]
    appointments = handlers["Appointments"]

    def code_hook(event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = appointments(event, LocalContext(deployment.function_name("Appointments")))
        return response

    # The emulator keeps no state between conversations: one instance (its patterns compiled once) serves all.
    emulator = LexEmulator(bot, locale, code_hook, today=today, bot_name=f"{deployment.name}-{bot.name}")
    return Resources(
        flows=flow_documents(*directories),
        hours={h.name: h for h in deployment.hours},
        queues={q.name: q.hours for q in deployment.queues},
        lambdas=handlers,
        lex=lambda: emulator,
        region=deployment.region(role).region,
        lambda_context=lambda key: LocalContext(deployment.function_name(key)),
    )
