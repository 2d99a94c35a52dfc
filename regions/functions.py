"""The function registry: every function the kit deploys, one entry each, read from ``lambdas/functions.yaml``.

An entry says what is the function's own: its key (the name flows use in ``%FunctionArn.<key>%``; the function is
``<deployment>-<key>`` in both regions), its code and handler, the environment it adds, the table actions it needs,
what invokes it (a contact flow, or the Lex bot as its code hook), the keys it answers with (for the privacy
check) and its alarms. Everything else derives from the registry: the function, its role, log group, alias and
provisioned concurrency (``lambdas/infrastructure.py``), its Connect association or the bot's code hook
(``stacks/regional.py``), its alarms (``stacks/monitoring.py``), the local simulator's handler
(``flowkit/simulate/functions.py``), the quota count and the placeholders flows may use.

A deployment names its registry with ``functions_file`` (default: the kit's own); this module reads no other
setting, so every floor of the kit can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from regions.yaml_files import load_yaml

#: The kit's own registry, beside the functions' code.
FUNCTIONS_FILE = Path(__file__).resolve().parent.parent / "lambdas" / "functions.yaml"

#: The DynamoDB actions a function may be granted on the deployment's table: the item and query actions of the
#: Service Authorization Reference (Amazon DynamoDB, resource type table). Each item of a transaction is authorized
#: as its own action (DynamoDB developer guide, "Using IAM with DynamoDB transactions"), so a function that
#: writes transactions lists the item actions they hold.
TableAction = Literal[
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
]
Alarm = Literal["errors", "throttles", "duration"]

#: Keys Lambda reserves and sets itself (Lambda developer guide, "Working with Lambda environment variables",
#: "Defined runtime environment variables": reserved, cannot be set in the function configuration).
LAMBDA_RESERVED = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "TZ",
    }
)
#: What the kit sets on every function (lambdas/infrastructure.py): an entry cannot change it.
KIT_ENVIRONMENT = frozenset({"TABLE_NAME", "CLINIC_TIME_ZONE"})
KIT_PREFIXES = ("POWERTOOLS_", "AWS_")


class FunctionRegistryError(ValueError):
    """A registry that cannot be used; the message names the file and the field."""


class FunctionEntry(BaseModel):
    """One function of the registry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: ``%FunctionArn.<key>%`` in flows; the function is ``<deployment>-<key>``.
    key: str = Field(pattern=r"^[A-Z][A-Za-z0-9]{0,39}$")
    #: Lambda's Description (at most 256 characters, Lambda API reference, CreateFunction).
    description: str = Field(min_length=1, max_length=256)
    #: ``module.function`` inside ``code``, as Lambda's Handler names it for Python.
    handler: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
    #: The folder of the function's code (its Lambda asset), relative to the registry file.
    code: str = "runtime"
    #: ``connect``: contact flows invoke it, so it is associated with the instance; ``lex``: the bot's code hook.
    invoked_by: Literal["connect", "lex"]
    #: What it may do on the deployment's table; nothing for a function that does not use it.
    table_actions: tuple[TableAction, ...] = ()
    #: Variables it adds to the kit's own (TABLE_NAME, CLINIC_TIME_ZONE and Powertools' settings).
    environment: dict[str, str] = Field(default_factory=dict)
    #: The keys it answers with (a flow function's flat map; the code hook's session attributes): the privacy
    #: check follows them into the blocks that receive them.
    answers: tuple[str, ...] = ()
    #: Alarms on its metrics: errors and throttles always matter; duration where a caller waits on a time limit.
    alarms: tuple[Alarm, ...] = ("errors", "throttles")

    @field_validator("environment")
    @classmethod
    def _own_variables_only(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name in LAMBDA_RESERVED:
                raise ValueError(f"{name} is reserved by Lambda (Lambda developer guide, defined runtime variables)")
            if name in KIT_ENVIRONMENT or name.startswith(KIT_PREFIXES):
                raise ValueError(f"{name} is set by the kit for every function; choose another name")
        return value

    @property
    def module(self) -> str:
        """The handler's module, dotted (``clinic.callback``)."""
        return self.handler.rsplit(".", 1)[0]

    @property
    def function(self) -> str:
        """The handler's function name in its module."""
        return self.handler.rsplit(".", 1)[1]


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    functions: tuple[FunctionEntry, ...] = Field(min_length=1)


@dataclass(frozen=True)
class FunctionRegistry:
    """The functions of one registry file, in the file's order."""

    path: Path
    entries: tuple[FunctionEntry, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(entry.key for entry in self.entries)

    def __getitem__(self, key: str) -> FunctionEntry:
        return next(entry for entry in self.entries if entry.key == key)

    def code_dir(self, entry: FunctionEntry) -> Path:
        """The folder of ``entry``'s code (its Lambda asset)."""
        return (self.path.parent / entry.code).resolve()

    @property
    def flow_invoked(self) -> tuple[FunctionEntry, ...]:
        """The functions contact flows invoke: each is associated with the Connect instance."""
        return tuple(entry for entry in self.entries if entry.invoked_by == "connect")

    @property
    def waited_on(self) -> tuple[FunctionEntry, ...]:
        """The flow-invoked functions with a ``duration`` alarm: a caller waits on them (the latency experiment's
        candidates, ``chaos.latency_targets``)."""
        return tuple(entry for entry in self.flow_invoked if "duration" in entry.alarms)

    @property
    def code_hook(self) -> FunctionEntry:
        """The bot's code hook (the registry holds exactly one)."""
        return next(entry for entry in self.entries if entry.invoked_by == "lex")

    @property
    def answers(self) -> Mapping[str, tuple[str, ...]]:
        """The keys each function answers with, by key (what the privacy check follows)."""
        return {entry.key: entry.answers for entry in self.entries}


def _check(registry: FunctionRegistry) -> list[str]:
    """What the registry breaks beyond one entry's fields, as ``field: message`` lines."""
    problems = []
    keys = registry.keys
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"functions: key {key} is given twice; a key names one function")
    hooks = [entry.key for entry in registry.entries if entry.invoked_by == "lex"]
    # One code hook: a bot alias names one Lambda function per locale (AWS::Lex::BotAlias BotAliasLocaleSettings,
    # CodeHookSpecification: "Specifies the Lambda function that should be used in the locale").
    if len(hooks) != 1:
        problems.append(
            f"functions: exactly one function has invoked_by: lex (the bot's code hook; a bot alias names one Lambda "
            f"function per locale), found {len(hooks)}: {', '.join(hooks) or 'none'}"
        )
    for index, entry in enumerate(registry.entries):
        folder = registry.code_dir(entry)
        source = folder / (entry.module.replace(".", "/") + ".py")
        if not folder.is_dir():
            problems.append(f"functions[{index}].code: {entry.code} is not a folder beside {registry.path.name}")
        elif not source.is_file():
            problems.append(f"functions[{index}].handler: {entry.handler} has no module {source.relative_to(folder)}")
        elif f"def {entry.function}(" not in source.read_text(encoding="utf-8"):
            problems.append(f"functions[{index}].handler: {source.name} defines no function {entry.function}")
    return problems


@lru_cache(maxsize=8)
def load_functions(path: Path = FUNCTIONS_FILE) -> FunctionRegistry:
    """Read and check one registry file (cached by path).

    Raises FunctionRegistryError naming the file and each field.
    """
    file = Path(path)
    try:
        raw = load_yaml(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FunctionRegistryError(f"{file}: function registry not found") from None
    except (IsADirectoryError, UnicodeDecodeError, OSError, yaml.YAMLError) as exc:
        raise FunctionRegistryError(f"{file}: cannot be read as a YAML function registry: {exc}") from None
    try:
        parsed = _RegistryFile.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
            lines.append(f"{file}: {where or '(top level)'}: {str(err['msg']).removeprefix('Value error, ')}")
        raise FunctionRegistryError("\n".join(lines)) from None
    registry = FunctionRegistry(file.resolve(), parsed.functions)
    problems = _check(registry)
    if problems:
        raise FunctionRegistryError("\n".join(f"{file}: {line}" for line in problems))
    return registry
