"""An offline linter for Amazon Connect flows.

It reads the kit's flow files (``%Kind.Name%`` placeholders allowed), flows exported from the Connect console
(extra Metadata is fine) and the wrappers flows travel in (DescribeContactFlow responses, CloudFormation
templates; ``flowkit.language.documents``), and reports each finding with its file, action, rule, severity and a
fix. A finding is an error only where a source says Connect rejects the thing (``flowkit.language.catalogue``);
what the catalogue does not know is a warning. No input makes it raise: a document of the wrong shape anywhere is
a finding.

DR safety depends on where the flow goes. A flow the kit deploys to two Regions (``deploying=True``: the kit's
flows folder, ``ivr flows lint --deploying``) must not name one Region or account, so a literal ARN, account or
Region is an error there; in a flow that is only linted (a console export, another tool's file) Connect accepts it,
so it is a warning. Values another tool fills before deploying (``${X}``, ``{{x.y}}``, ``<<X>>``, ``{ACCOUNT_ID}``)
are recognised as templates, never read as JSONPath.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from flowkit.language.catalogue import (
    CONSOLE_TYPES,
    DTMF_CHARS,
    EVENT_HOOKS,
    FLOW_TYPES,
    FLOW_VERSION,
    FORBIDDEN_ID_CHARS,
    GENERIC_ERRORS,
    JSONPATH_ROOTS,
    MAX_ACTIONS,
    MAX_CONTENT,
    MAX_DESCRIPTION,
    MAX_IDENTIFIER,
    MAX_NAME,
    MAX_VIEW_ID,
    METRIC_AGENT_TYPES,
    OPERATORS,
    RESERVED_IDS,
    UNRESTRICTED_TYPES,
    WAIT_EVENTS,
    ActionSpec,
    is_ui_block_name,
    normalise_flow_type,
    spec_for,
)

Severity = Literal["error", "warning"]

PLACEHOLDER = re.compile(r"%([A-Za-z]+)(?:\.([A-Za-z0-9_-]+))?%")
#: The kinds of ``%Kind.Name%`` placeholder the kit fills per Region (``flowkit.language.files`` re-exports them).
PLACEHOLDER_KINDS = (
    "FunctionArn", "BotAliasArn", "QueueArn", "HoursArn", "FlowArn", "PromptArn", "ModuleArn", "ViewArn",
)  # fmt: skip
#: What is left of a placeholder once the well-formed ones are removed: an opening "%Kind." or "%...Arn" without its
#: closing "%" (``%FunctionArn.Callback``), or a closing "Kind.Name%" without its opening one. The kind is the
#: group ``kind``: only a kind of ``PLACEHOLDER_KINDS`` makes it the kit's (``userId%3D42`` in a URL is not).
MALFORMED_PLACEHOLDER = re.compile(
    r"%(?P<kind>[A-Za-z]+)\.|%(?P<bare>[A-Za-z]*(?:Arn|Id))\b|\b(?P<closing>[A-Za-z]+(?:Arn|Id))(?:\.[A-Za-z0-9_-]*)?%"
)
_JSONPATH = re.compile(r"\$(?:\.([A-Za-z]+)|\['([A-Za-z]+)'\])((?:\.[A-Za-z0-9_-]+)*)")
#: One whole JSONPath: a root, then dotted or bracketed steps, no spaces.
_SINGLE_PATH = re.compile(r"\$(?:\.[A-Za-z]+|\['[A-Za-z]+'\])(?:\.[^\s.\[\]]+|\[[^\]]+\])*")
_ACCOUNT = re.compile(r"(?<![\d+])\d{12}(?!\d)")
_ARN = re.compile(r"\barn:aws[a-z-]*:[a-z0-9-]+:([^:\s\"]*):([^:\s\"]*):")
_REGION = re.compile(
    r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(gov-)?(east|west|north|south|central|northeast|southeast|southwest|northwest)-\d\b"
)
#: The template syntaxes seen in public flow repositories, by the tool that fills them.
TEMPLATE_SYNTAXES = (
    (re.compile(r"\$\{[^}]*\}"), "a ${...} token (Terraform templatefile, CloudFormation Fn::Sub, shell envsubst)"),
    (re.compile(r"\{\{[^}]*\}\}"), "a {{...}} token (Handlebars/Jinja/Mustache)"),
    (re.compile(r"<<[^>]*>>"), "a <<...>> token"),
    (re.compile(r"\{[A-Z][A-Z0-9_]*\}"), "a {NAME} token"),
    (re.compile(r"\bREPLACE_WITH_[A-Z0-9_]+"), "a REPLACE_WITH_... marker"),
)
#: Values another tool fills before deploying: ${X}, {{x.y}}, <<X>>, {ACCOUNT_ID}, REPLACE_WITH_...
TEMPLATE = re.compile("|".join(pattern.pattern for pattern, _ in TEMPLATE_SYNTAXES))
MAX_DEPTH = 64  # deeper documents are refused with a finding rather than walked
#: The length counted for a placeholder once filled: a queue ARN in the longest Region name is about 130 characters.
FILLED_ARN = 140
#: Metadata keys of the kit's own flow files; anything else is the console's layout, sent with the content.
KIT_METADATA = frozenset({"name", "description", "type", "settings"})
#: Rules that tie a flow to one Region or account: errors for a flow the kit deploys to two Regions, warnings else.
DR_RULES = frozenset({"dr-literal-arn", "dr-literal-account", "dr-literal-region"})


@dataclass(frozen=True)
class Finding:
    """One problem in one flow."""

    file: str
    action: str
    rule: str
    severity: Severity
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        where = f" [{self.action}]" if self.action else ""
        return f"{self.file}{where} {self.severity} {self.rule}: {self.message}"


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def cap_per_file(findings: Iterable[Finding], limit: int) -> tuple[list[Finding], dict[str, int]]:
    """The first ``limit`` findings of each file (errors before warnings; 0 keeps all), and how many of each file's
    findings were left out: a folder of broken files prints a screenful per file, not megabytes."""
    kept: list[Finding] = []
    left: dict[str, int] = {}
    seen: dict[str, int] = {}
    ordered = sorted(findings, key=lambda f: f.severity != "error")  # stable: document order within a severity
    for finding in ordered:
        seen[finding.file] = seen.get(finding.file, 0) + 1
        if limit and seen[finding.file] > limit:
            left[finding.file] = left.get(finding.file, 0) + 1
        else:
            kept.append(finding)
    return kept, left


def summary_lines(findings: Iterable[Finding]) -> list[str]:
    """Counts by rule (errors first, then the most frequent), and how many files have findings."""
    counts: dict[tuple[str, str], int] = {}
    files: set[str] = set()
    for finding in findings:
        counts[(finding.severity, finding.rule)] = counts.get((finding.severity, finding.rule), 0) + 1
        files.add(finding.file)
    if not counts:
        return []
    order = sorted(counts.items(), key=lambda item: (item[0][0] != "error", -item[1], item[0][1]))
    lines = [f"by rule ({len(files)} files with findings):"]
    lines += [f"  {count:>6} {severity} {rule}" for (severity, rule), count in order]
    return lines


def _get(params: Any, dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def string_values(value: Any) -> Iterator[str]:
    """Every string value (not the keys) in a JSON value, depth first in document order, without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def _strings(value: Any) -> Iterator[str]:
    """Every string (keys too) in a JSON value, without recursion (documents may nest deeply)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key, inner in item.items():
                yield str(key)
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)


def depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply a JSON value nests, counted up to ``limit + 1``."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > limit:
                return level
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def is_templated(value: Any) -> bool:
    """A string another tool fills in (a kit placeholder, ${X}, {{x}}, <<X>>, {ACCOUNT_ID}, a JSONPath)."""
    return isinstance(value, str) and bool(PLACEHOLDER.search(value) or TEMPLATE.search(value) or "$." in value)


def template_syntax(value: Any) -> str | None:
    """What fills a value another tool templates (``${X}`` is Terraform or CloudFormation...), or None."""
    if not isinstance(value, str):
        return None
    for pattern, label in TEMPLATE_SYNTAXES:
        if pattern.search(value):
            return label
    return None


def is_jsonpath(value: Any) -> bool:
    """A value Connect reads as a JSONPath: it starts with ``$`` and is not a ``${...}`` template token."""
    return isinstance(value, str) and value.startswith("$") and not value.startswith("${")


def flow_type_of(doc: Any) -> str | None:
    """The flow type from the Metadata (kit files and console exports both write it)."""
    meta = doc.get("Metadata") if isinstance(doc, dict) else None
    raw = meta.get("type") if isinstance(meta, dict) else None
    if not isinstance(raw, str):
        return None
    return CONSOLE_TYPES.get(raw, raw if raw in FLOW_TYPES else None)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class _Linter:
    def __init__(self, file: str, doc: Any, flow_type: str | None, deploying: bool = False) -> None:
        self.file = file
        self.doc = doc
        self.flow_type = normalise_flow_type(flow_type) if flow_type else None
        self.deploying = deploying
        self.findings: list[Finding] = []

    def add(self, action: str, rule: str, message: str, severity: Severity = "error") -> None:
        self.findings.append(Finding(self.file, action, rule, severity, message))

    # -- document ------------------------------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        doc = self.doc
        if not isinstance(doc, dict):
            self.add("", "flow-structure", "a flow is a JSON object with Version, StartAction and Actions")
            return self.findings
        if depth(doc) > MAX_DEPTH:
            self.add("", "flow-structure", f"the document nests more than {MAX_DEPTH} levels deep; not a flow")
            return self.findings
        if doc.get("Version") != FLOW_VERSION:
            self.add("", "flow-version", f"Version is {doc.get('Version')!r}; set it to {FLOW_VERSION!r}")
        actions = doc.get("Actions")
        if not isinstance(actions, list) or not actions:
            self.add("", "flow-structure", "Actions must be a non-empty list of actions")
            return self.findings
        if len(actions) > MAX_ACTIONS:
            self.add(
                "",
                "too-many-actions",
                f"{len(actions)} actions; Connect allows {MAX_ACTIONS}: split the flow with TransferToFlow or a module",
            )
        if self.flow_type is None:
            self.flow_type = flow_type_of(doc)
        self._content_limits(doc)
        by_id = self._identifiers(actions)
        start = doc.get("StartAction")
        if not isinstance(start, str) or start not in by_id:
            self.add("", "start-action", f"StartAction {start!r} is not the Identifier of any action")
        for ident, action in by_id.items():
            self._action(ident, action, by_id)
        if isinstance(start, str) and start in by_id:
            self._graph(start, by_id)
        return self.findings

    def _content_limits(self, doc: dict[str, Any]) -> None:
        """Connect's documented limits on what a flow or module is sent as."""
        # Connect API reference, CreateContactFlow and UpdateContactFlowContent: Content, "Length Constraints:
        # Maximum length of 256000"; CreateContactFlowModule: Content min 1, max 256000 (botocore connect model).
        # The kit sends the flow without its Metadata (FlowFile.content), compact: that is the smallest form, so a
        # flow over the limit even then is refused; one that fits only without its console Metadata is a warning.
        bare = {k: v for k, v in doc.items() if k != "Metadata"}
        text = json.dumps(bare, separators=(",", ":"), ensure_ascii=False)
        size = len(text)
        # Each %Kind.Name% becomes an ARN when the stack fills it: count it at a long ARN's length.
        filled = size + sum(FILLED_ARN - len(m.group(0)) for m in PLACEHOLDER.finditer(text))
        if size > MAX_CONTENT:
            self.add(
                "",
                "content-too-long",
                f"the flow content is {size:,} characters; Connect accepts at most {MAX_CONTENT:,} "
                "(CreateContactFlow Content): split it with TransferToFlow or a module",
            )
        elif filled > MAX_CONTENT:
            self.add(
                "",
                "content-too-long",
                f"the flow content is {size:,} characters, about {filled:,} once its placeholders are filled with "
                f"ARNs; Connect accepts at most {MAX_CONTENT:,} (CreateContactFlow Content)",
                "warning",
            )
        elif isinstance(doc.get("Metadata"), dict) and set(doc["Metadata"]) - KIT_METADATA:
            whole = len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))
            if whole > MAX_CONTENT:
                self.add(
                    "",
                    "content-too-long",
                    f"with its Metadata the content is {whole:,} characters, over Connect's {MAX_CONTENT:,} "
                    "(CreateContactFlow Content); without it, as the kit sends it, it fits",
                    "warning",
                )
        meta = doc.get("Metadata")
        # AWS::Connect::ContactFlow Name: 1-127 characters (CloudFormation resource reference); CreateContactFlowModule
        # Name: min 1, max 127 (botocore connect model, ContactFlowModuleName). The name checked is the one the kit
        # deploys: Metadata.name, else the file's stem (``deployed_name``).
        name = deployed_name(doc, self.file)
        if name is not None and len(name) > MAX_NAME:
            source = (
                "Metadata.name" if isinstance(meta, dict) and meta.get("name") else "the file name (no Metadata.name)"
            )
            self.add(
                "", "name-too-long", f"{source} gives the flow a {len(name)}-character name; Connect allows {MAX_NAME}"
            )
        if not isinstance(meta, dict):
            return
        description, settings = meta.get("description"), meta.get("settings")
        # AWS::Connect::ContactFlow Description and CreateContactFlowModule Description: at most 500 characters. The
        # kit cuts a longer one (connect/infrastructure.py), so it is a warning: the end of the text is lost.
        if isinstance(description, str) and len(description) > MAX_DESCRIPTION:
            self.add(
                "",
                "description-too-long",
                f"Metadata.description is {len(description)} characters; Connect keeps {MAX_DESCRIPTION}, "
                "the rest is cut when the kit deploys it",
                "warning",
            )
        # AWS::Connect::ContactFlowModule Settings: a string of at most 256,000 characters (CloudFormation resource
        # reference).
        if settings is not None:
            text = settings if isinstance(settings, str) else json.dumps(settings, separators=(",", ":"))
            if len(text) > MAX_CONTENT:
                self.add("", "content-too-long", f"the module Settings are {len(text):,} characters; at most "
                         f"{MAX_CONTENT:,} (AWS::Connect::ContactFlowModule Settings)")  # fmt: skip

    def _identifiers(self, actions: list[Any]) -> dict[str, dict[str, Any]]:
        by_id: dict[str, dict[str, Any]] = {}
        for index, action in enumerate(actions):
            if not isinstance(action, dict):
                self.add(f"Actions[{index}]", "flow-structure", "each action is an object with Identifier and Type")
                continue
            ident = action.get("Identifier")
            if not isinstance(ident, str) or not ident.strip():
                self.add(f"Actions[{index}]", "identifier", "the action has no Identifier (a non-empty string)")
                continue
            bad = sorted(set(ident) & FORBIDDEN_ID_CHARS)
            if bad:
                self.add(
                    ident,
                    "identifier",
                    f"the Identifier contains {' '.join(bad)}; Connect forbids % : ( \\ / ) = $ , ; [ ] {{ }}",
                )
            if len(ident) > MAX_IDENTIFIER:
                self.add(ident, "identifier", f"the Identifier is {len(ident)} characters; at most {MAX_IDENTIFIER}")
            if ident in RESERVED_IDS:
                self.add(ident, "identifier", f"{ident!r} is a reserved name; choose another Identifier")
            if ident in by_id:
                self.add(ident, "duplicate-identifier", "two actions share this Identifier; rename one")
                continue
            by_id[ident] = action
        return by_id

    # -- one action ----------------------------------------------------------------------------------------------
    def _action(self, ident: str, action: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> None:
        kind = action.get("Type")
        transitions = action.get("Transitions", {})
        if not isinstance(transitions, dict):
            self.add(ident, "transitions", "Transitions must be an object")
            transitions = {}
        spec = spec_for(kind) if isinstance(kind, str) else None
        if spec is None:
            self._unknown_type(ident, kind)
            self._targets_exist(ident, transitions, by_id)
            return
        params = action.get("Parameters", {})
        if not isinstance(params, dict):
            self.add(ident, "parameters", "Parameters must be an object")
            params = {}
        if self.flow_type and self.flow_type not in UNRESTRICTED_TYPES and self.flow_type not in spec.flows:
            allowed = ", ".join(sorted(spec.flows))
            self.add(ident, "flow-type", f"{kind} is not allowed in a {self.flow_type} flow (allowed in: {allowed})")
        if not spec.lenient:
            self._parameters(ident, str(kind), spec, params)
        self._transitions(ident, str(kind), spec, params, transitions, by_id)
        self._dr_safety(ident, params)
        if kind == "ShowView":  # lenient (its conditions depend on the view), but a view id has a documented size
            view = _get(params, "ViewResource.Id")
            if isinstance(view, str) and not is_templated(view) and len(view) > MAX_VIEW_ID:
                self.add(ident, "view-id", f"ViewResource.Id is {len(view)} characters; a view id is at most "
                         f"{MAX_VIEW_ID} (Connect API reference, View)")  # fmt: skip
        self._placeholders(ident, params)

    def _unknown_type(self, ident: str, kind: Any) -> None:
        if not isinstance(kind, str) or not kind:
            self.add(ident, "unknown-action-type", f"Type must be an action type name, not {kind!r}")
        elif is_ui_block_name(kind):
            self.add(
                ident,
                "unknown-action-type",
                f"Type {kind!r} is a console block name, not a flow-language action type "
                "(for example 'Set voice' is UpdateContactTextToSpeechVoice)",
            )
        else:
            self.add(
                ident,
                "unknown-action-type",
                f"Type {kind!r} is not in the kit's catalogue of the flow language; its parameters and "
                "transitions are not checked (check the spelling, or add it to flowkit/language/catalogue.py)",
                "warning",
            )

    def _parameters(self, ident: str, kind: str, spec: ActionSpec, params: dict[str, Any]) -> None:
        for name in spec.required:
            if _get(params, name) in (None, "", {}, []):
                self.add(ident, "missing-parameter", f"{kind} needs Parameters.{name}")
        for group in spec.exclusive:
            given = [n for n in group if _get(params, n) is not None]
            if len(given) > 1:
                self.add(ident, "exclusive-parameters", f"{' and '.join(given)} cannot be used together; keep one")
        for group in spec.one_of:
            if not any(_get(params, n) is not None for n in group):
                self.add(ident, "missing-parameter", f"{kind} needs one of {', '.join(group)}")
        for name in spec.static_only:
            value = _get(params, name)
            if any("$." in text for text in _strings(value)):
                self.add(ident, "static-parameter", f"Parameters.{name} must be a static value, not a JSONPath")
        for name in spec.single_path:
            value = _get(params, name)
            if is_jsonpath(value):
                self._single_path(ident, name, value)
        for name, rule in spec.numbers.items():
            self._number(ident, name, rule, _get(params, name))
        for name, allowed in spec.enums.items():
            value = _get(params, name)
            if value is None or is_templated(value):
                continue
            if not isinstance(value, str) or value not in allowed:
                self.add(
                    ident, "enum-value", f"Parameters.{name} is {value!r}; use one of {', '.join(sorted(allowed))}"
                )
        self._type_specific(ident, kind, params)
        self._jsonpaths(ident, params)

    def _number(self, ident: str, name: str, rule: Any, value: Any) -> None:
        if value is None:
            return
        if is_jsonpath(value):
            if not rule.dynamic:
                self.add(ident, "static-parameter", f"Parameters.{name} must be a static number, not a JSONPath")
            return
        if is_templated(value):
            return  # filled by a deployment tool; nothing to check until then
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.add(ident, "number-range", f"Parameters.{name} is {value!r}; expected a number")
            return
        try:
            number = float(value)
        except ValueError:
            self.add(ident, "number-range", f"Parameters.{name} is {value!r}; expected a number")
            return
        if not rule.low <= number <= rule.high:
            high = "" if rule.high == float("inf") else f" to {rule.high:g}"
            self.add(ident, "number-range", f"Parameters.{name} is {value}; allowed {rule.low:g}{high}")

    def _type_specific(self, ident: str, kind: str, params: dict[str, Any]) -> None:
        if kind == "GetParticipantInput":
            stored = params.get("StoreInput", "False") == "True"
            validation = params.get("InputValidation")
            if stored and not validation:
                self.add(
                    ident,
                    "input-validation",
                    "StoreInput True needs InputValidation (PhoneNumberValidation or CustomValidation)",
                )
            if not stored and validation:
                self.add(ident, "input-validation", "InputValidation is only allowed with StoreInput True")
            if params.get("InputEncryption") and not _get(params, "InputValidation.CustomValidation"):
                self.add(ident, "input-validation", "InputEncryption is only allowed with CustomValidation")
        elif kind == "InvokeLambdaFunction":
            limit = params.get("InvocationTimeLimitSeconds")
            sync = params.get("InvocationType", "SYNCHRONOUS") == "SYNCHRONOUS"
            try:
                too_long = sync and isinstance(limit, int | float | str) and float(limit) > 8
            except ValueError:
                too_long = False
            if too_long:
                self.add(
                    ident,
                    "number-range",
                    f"InvocationTimeLimitSeconds is {limit}; a synchronous call waits at most 8 seconds",
                )
        elif kind == "ConnectParticipantWithLexBot":
            if not any(params.get(k) for k in ("Text", "SSML", "PromptId", "Media", "LexInitializationData")):
                self.add(
                    ident,
                    "lex-without-prompt",
                    "the Lex block has no prompt: add Text, SSML or PromptId so the caller knows what to say",
                    "warning",
                )
        elif kind == "UpdateContactEventHooks":
            hooks = params.get("EventHooks")
            if isinstance(hooks, dict):
                if len(hooks) != 1:
                    self.add(ident, "event-hooks", f"EventHooks holds {len(hooks)} entries; use one action per hook")
                for key in hooks:
                    if key not in EVENT_HOOKS:
                        self.add(
                            ident,
                            "event-hooks",
                            f"{key!r} is not an event hook the kit knows ({', '.join(sorted(EVENT_HOOKS))})",
                            "warning",
                        )
        elif kind == "Wait":
            events = params.get("Events")
            for event in _list(events):
                if not isinstance(event, str) or (event not in WAIT_EVENTS and not is_templated(event)):
                    self.add(
                        ident,
                        "enum-value",
                        f"Wait event {event!r} is not one the kit knows ({', '.join(sorted(WAIT_EVENTS))})",
                        "warning",
                    )

    def _single_path(self, ident: str, name: str, value: str) -> None:
        if not _SINGLE_PATH.fullmatch(value):
            self.add(
                ident,
                "jsonpath",
                f"Parameters.{name} must be exactly one JSONPath such as '$.Attributes.key', not {value!r}",
            )

    def _jsonpaths(self, ident: str, params: dict[str, Any]) -> None:
        unknown = set()
        for text in _strings(params):
            for match in _JSONPATH.finditer(text):
                root = match.group(1) or match.group(2)
                if root not in JSONPATH_ROOTS:
                    unknown.add(root)
        for root in sorted(unknown):
            self.add(
                ident,
                "jsonpath",
                f"$.{root} is not a JSONPath root the kit knows (such as $.Attributes, $.External, $.Lex); "
                "Connect rejects unknown roots when it publishes the flow",
                "warning",
            )

    # -- transitions ---------------------------------------------------------------------------------------------
    def _transitions(
        self,
        ident: str,
        kind: str,
        spec: ActionSpec,
        params: dict[str, Any],
        transitions: dict[str, Any],
        by_id: dict[str, dict[str, Any]],
    ) -> None:
        if spec.terminal:
            if transitions.get("NextAction") or transitions.get("Conditions") or transitions.get("Errors"):
                self.add(ident, "terminal-transitions", f"{kind} ends the flow: set Transitions to {{}}")
            return
        raw_conditions, raw_errors = transitions.get("Conditions"), transitions.get("Errors")
        for label, raw in (("Conditions", raw_conditions), ("Errors", raw_errors)):
            if raw is not None and not isinstance(raw, list):
                self.add(ident, "transitions", f"Transitions.{label} must be a list")
        conditions, errors = _list(raw_conditions), _list(raw_errors)
        nxt = transitions.get("NextAction")
        if nxt is not None and not isinstance(nxt, str):
            self.add(ident, "transitions", f"Transitions.NextAction must be an action Identifier, not {nxt!r}")
        if nxt is None and not conditions and not spec.next_optional:
            self.add(
                ident,
                "missing-next-action",
                "a non-terminal action needs Transitions.NextAction (or conditions that cover every result)",
            )
        self._targets_exist(ident, transitions, by_id)
        error_types = [e.get("ErrorType") for e in errors if isinstance(e, dict)]
        for error in error_types:
            if not isinstance(error, str):
                self.add(ident, "error-type", f"ErrorType must be a name, not {error!r}")
            elif not spec.lenient and error not in spec.errors:
                allowed = ", ".join(sorted(spec.errors)) or "none"
                severity: Severity = "warning" if error in GENERIC_ERRORS else "error"
                self.add(ident, "error-type", f"{kind} has no error {error!r} (its errors: {allowed})", severity)
        names = [e for e in error_types if isinstance(e, str)]
        if len(set(names)) != len(names):
            self.add(ident, "error-type", "an error type is listed twice")
        if kind == "GetParticipantInput" and "NoMatchingError" not in names:
            self.add(ident, "missing-error-branch", "Get customer input must always handle NoMatchingError")
        self._conditions(ident, kind, spec, params, conditions, names)

    def _targets_exist(self, ident: str, transitions: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> None:
        for target in self._targets(transitions):
            if target not in by_id:
                self.add(ident, "transition-target", f"the transition goes to {target!r}, which is not an action")

    @staticmethod
    def _targets(transitions: Any) -> Iterator[str]:
        if not isinstance(transitions, dict):
            return
        nxt = transitions.get("NextAction")
        if isinstance(nxt, str):
            yield nxt
        for item in _list(transitions.get("Conditions")) + _list(transitions.get("Errors")):
            if isinstance(item, dict) and isinstance(item.get("NextAction"), str):
                yield item["NextAction"]

    def _conditions(
        self,
        ident: str,
        kind: str,
        spec: ActionSpec,
        params: dict[str, Any],
        conditions: list[Any],
        error_types: list[str],
    ) -> None:
        rule = spec.conditions
        parsed: list[tuple[str, list[Any]]] = []
        for item in conditions:
            cond = item.get("Condition") if isinstance(item, dict) else None
            if (
                not isinstance(cond, dict)
                or not isinstance(cond.get("Operator"), str)
                or cond.get("Operator") not in OPERATORS
                or not isinstance(cond.get("Operands"), list)
            ):
                self.add(ident, "condition", "each condition needs Condition.Operator (such as Equals) and Operands")
                continue
            parsed.append((str(cond["Operator"]), list(cond["Operands"])))
        if not parsed:
            if rule in ("hours", "loop"):
                self.add(
                    ident,
                    "condition",
                    f"{kind} needs its conditions: "
                    f"{'True and False' if rule == 'hours' else 'ContinueLooping and DoneLooping'}",
                )
            return
        if rule is None:
            self.add(ident, "condition", f"{kind} takes no conditions; use NextAction")
            return
        operands = [ops[0] if len(ops) == 1 else None for _, ops in parsed]
        texts = [str(v) for v in operands]
        operators = {op for op, _ in parsed}
        if rule in ("dtmf", "equals", "hours", "loop", "wait", "interrupt") and operators != {"Equals"}:
            self.add(ident, "condition", f"{kind} conditions use only Equals")
        if rule == "dtmf":
            if params.get("StoreInput") == "True":
                self.add(
                    ident,
                    "condition",
                    "with StoreInput True the input goes to $.StoredCustomerInput; "
                    "branch on it with a Compare action instead",
                )
            for value in operands:
                if not (isinstance(value, str) and len(value) == 1 and value in DTMF_CHARS):
                    self.add(ident, "condition", f"DTMF condition {value!r} must be one character 0-9, * or #")
            if "NoMatchingCondition" not in error_types:
                self.add(ident, "missing-error-branch", "add a NoMatchingCondition branch for other keys", "warning")
        elif rule == "hours" and sorted(texts) != ["False", "True"]:
            self.add(
                ident, "condition", "CheckHoursOfOperation takes exactly two conditions: Equals True and Equals False"
            )
        elif rule == "loop" and sorted(texts) != ["ContinueLooping", "DoneLooping"]:
            self.add(ident, "condition", "Loop takes exactly ContinueLooping and DoneLooping")
        elif rule == "metric":
            metric = params.get("MetricType")
            if (
                isinstance(metric, str)
                and metric in METRIC_AGENT_TYPES
                and (operators != {"NumberGreaterThan"} or texts != ["0"] * len(texts))
            ):
                self.add(ident, "condition", "agent-count checks allow only NumberGreaterThan 0")
        elif rule == "percent" and operators != {"NumberLessThan"}:
            self.add(ident, "condition", "DistributeByPercentage conditions use NumberLessThan thresholds")
        elif rule == "interrupt" and set(texts) != {"MessagesInterrupted"}:
            self.add(ident, "condition", "MessageParticipantIteratively takes only Equals MessagesInterrupted")
        elif rule == "wait":
            events = {e for e in _list(params.get("Events")) if isinstance(e, str)}
            missing = sorted(({"WaitCompleted"} | events) - set(texts))
            if missing:
                self.add(
                    ident, "condition", f"Wait needs a condition for {', '.join(missing)} (the API guide)", "warning"
                )
        if len(set(texts)) != len(texts):
            self.add(ident, "condition", "two conditions test the same value; the second can never be taken", "warning")

    # -- placeholders --------------------------------------------------------------------------------------------
    def _placeholders(self, ident: str, params: dict[str, Any]) -> None:
        for text in _strings(params):
            broken = MALFORMED_PLACEHOLDER.search(PLACEHOLDER.sub("", text))
            if not broken:
                continue
            kind = broken.group("kind") or broken.group("bare") or broken.group("closing")
            # Only a leftover naming one of the kit's kinds is surely a placeholder gone wrong (synth would fail
            # on it); any other "%" next to a word may be valid content, such as a URL-encoded query string.
            ours = kind in PLACEHOLDER_KINDS
            self.add(
                ident,
                "placeholder",
                f"malformed placeholder near {broken.group(0)!r} in {text!r}: write %Kind.Name% (both % signs; a "
                "name of letters, digits, - and _)"
                + ("" if ours else f"; {kind!r} is none of the kit's kinds ({', '.join(PLACEHOLDER_KINDS)})"),
                "error" if ours else "warning",
            )

    # -- DR safety -----------------------------------------------------------------------------------------------
    def _dr_safety(self, ident: str, params: dict[str, Any]) -> None:
        # A literal Region or account is only wrong where the kit deploys the flow to two Regions.
        literal: Severity = "error" if self.deploying else "warning"
        where = "" if self.deploying else " (an error in a flow the kit deploys to two Regions)"
        templated: set[str] = set()
        arn_templated = False
        for text in _strings(params):
            syntax = template_syntax(text)
            if syntax:
                templated.add(syntax)
            # Tokens of other tools may hold colons (${AWS::Region}): mask them before reading an ARN's fields.
            plain = TEMPLATE.sub("{T}", PLACEHOLDER.sub("", text))
            arn = _ARN.search(plain)
            if arn:
                region, account = arn.group(1), arn.group(2)
                if is_templated(region) or is_templated(account) or not (region or account):
                    self.add(
                        ident,
                        "dr-templated-arn",
                        "an ARN templated for another deployment tool; the kit fills %Kind.Name% placeholders "
                        "per region (`ivr flows import` converts it)",
                        "warning",
                    )
                    arn_templated = True
                else:
                    self.add(
                        ident,
                        "dr-literal-arn",
                        "a literal ARN ties the flow to one region and account; use a "
                        f"%Kind.Name% placeholder (ivr flows import does this){where}",
                        literal,
                    )
            elif _ACCOUNT.search(plain):
                # An account id is certain only in an ARN's account field (dr-literal-arn above). Elsewhere twelve
                # digits may be a booking reference read to the caller: worth a look, never a refusal.
                self.add(
                    ident,
                    "dr-literal-account",
                    "a 12-digit number outside an ARN: if it is an AWS account id, the DR region needs a placeholder "
                    "instead; if it is data (a reference, a number the caller hears), ignore this",
                    "warning",
                )
            elif _REGION.search(plain):
                self.add(
                    ident,
                    "dr-literal-region",
                    f"a literal region name breaks the DR region; use $.AwsRegion or a placeholder{where}",
                    literal,
                )
        if templated and not arn_templated:
            self.add(
                ident,
                "templated-value",
                f"a value holds {' and '.join(sorted(templated))}, filled by another tool before deploying; "
                "it is kept as text, not read as JSONPath (`ivr flows import` turns ARNs into %Kind.Name%)",
                "warning",
            )

    # -- graph ---------------------------------------------------------------------------------------------------
    def _ends_here(self, action: dict[str, Any]) -> bool:
        """Whether the flow's work can end at this action (on success), in this flow type."""
        kind = action.get("Type")
        spec = spec_for(kind) if isinstance(kind, str) else None
        if spec is None:
            return isinstance(kind, str)  # an unknown type might end the flow: do not claim it cannot
        params = action.get("Parameters")
        continues = isinstance(params, dict) and params.get("ContinueFlowExecution") == "True"
        if spec.terminal or (spec.ends_flow and not continues):
            return True
        return bool(spec.ends_in) and (self.flow_type is None or self.flow_type in spec.ends_in)

    def _graph(self, start: str, by_id: dict[str, dict[str, Any]]) -> None:
        edges = {i: [t for t in self._targets(a.get("Transitions")) if t in by_id] for i, a in by_id.items()}
        reachable = _reach(start, edges)
        for ident in by_id:
            if ident not in reachable:
                self.add(
                    ident, "unreachable-action", "no path from StartAction leads here; remove it or link it", "warning"
                )
        for component in _cycles(edges):
            if not component <= reachable:
                continue
            if not any(_controls_a_cycle(by_id[i]) for i in component):
                first = sorted(component)[0]
                self.add(
                    first,
                    "cycle-without-exit",
                    f"actions {', '.join(sorted(component))} form a cycle with "
                    "no caller input, wait or Loop: the call can spin forever",
                    "warning",
                )
        ends = {i for i, a in by_id.items() if self._ends_here(a)}
        reverse: dict[str, list[str]] = {i: [] for i in by_id}
        for source, targets in edges.items():
            for target in targets:
                reverse[target].append(source)
        # One reverse walk from every end at once: linear in the flow's size, where a walk per end was quadratic.
        can_end = _reach_any(ends, reverse)
        for ident in sorted(reachable - can_end):
            self.add(
                ident,
                "path-never-ends",
                "no path from here reaches a terminal action or a transfer; the call would never end",
                "warning",
            )


def _controls_a_cycle(action: dict[str, Any]) -> bool:
    kind = action.get("Type")
    spec = spec_for(kind) if isinstance(kind, str) else None
    return spec is None or spec.takes_input or kind == "Loop"


def _reach(start: str, edges: dict[str, list[str]]) -> set[str]:
    return _reach_any({start}, edges)


def _reach_any(starts: Iterable[str], edges: dict[str, list[str]]) -> set[str]:
    """Every node reachable from any of ``starts`` (the starts included), each node visited once."""
    seen = set(starts)
    stack = list(seen)
    while stack:
        for target in edges.get(stack.pop(), []):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _cycles(edges: dict[str, list[str]]) -> list[set[str]]:
    """Strongly connected components that contain a cycle (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges[node]:
                    found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def deployed_name(doc: Any, file: str) -> str | None:
    """The name the kit deploys a flow file under: a non-empty ``Metadata.name``, else the file's stem; None for a
    document that has neither (linted from text, not a file)."""
    meta = doc.get("Metadata") if isinstance(doc, dict) else None
    given = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(given, str) and given:
        return given
    if given:  # not a string: its text, as ``FlowFile.name`` takes it
        return str(given)
    return Path(file).stem if file.endswith(".json") else None


def lint_flow(
    doc: Any, file: str = "<flow>", flow_type: str | None = None, *, deploying: bool = False
) -> list[Finding]:
    """Lint one parsed flow document; ``deploying`` for a flow the kit deploys to two Regions (DR rules are errors)."""
    return _Linter(file, doc, flow_type, deploying).run()


def parse(text: str) -> Any:
    """JSON text to a value; raises ValueError (a JSONDecodeError, or too deep to parse) with the reason."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"nests too deeply to parse (over {MAX_DEPTH} levels is not a flow)") from None


def lint_text(
    text: str, file: str = "<flow>", flow_type: str | None = None, *, deploying: bool = False
) -> list[Finding]:
    """Lint JSON text: a flow, or a wrapper holding flows. A parse error is a finding (rule ``json``)."""
    try:
        data = parse(text)
    except ValueError as exc:
        return [Finding(file, "", "json", "error", f"not valid JSON: {exc}")]
    return lint_document(data, file, flow_type, deploying=deploying)


def lint_document(
    data: Any, file: str = "<flow>", flow_type: str | None = None, *, deploying: bool = False
) -> list[Finding]:
    """Lint a parsed file: a flow document, or each flow inside a DescribeContactFlow or CloudFormation wrapper."""
    from flowkit.language.documents import DocumentError, looks_like_flow, unwrap

    if not looks_like_flow(data):
        try:
            found = unwrap(data)
        except DocumentError as exc:
            return [Finding(file, "", "json", "error", str(exc))]
        if found:
            findings: list[Finding] = []
            for item in found:
                label = file if len(found) == 1 else f"{file}#{item.where}"
                findings += lint_flow(item.doc, label, flow_type or item.type, deploying=deploying)
            return findings
    return lint_flow(data, file, flow_type, deploying=deploying)


def lint_path(path: Path, flow_type: str | None = None, *, deploying: bool = False) -> list[Finding]:
    """Lint one file (JSON, or a CloudFormation template in YAML); raises OSError when it cannot be read and
    UnicodeDecodeError when it is not UTF-8."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        from flowkit.language.documents import read_template_yaml

        try:
            data = read_template_yaml(text)
        except (ValueError, RecursionError) as exc:
            return [Finding(str(path), "", "json", "error", str(exc))]
        return lint_document(data, str(path), flow_type, deploying=deploying)
    return lint_text(text, str(path), flow_type, deploying=deploying)


def named_flows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """The flows of one JSON file by the name a call reaches them by (Metadata.name, a wrapper's Name, else the
    file's name), each with a wrapper's Type kept in its Metadata. A file that is not a flow (not JSON, not UTF-8,
    a list, a package.json) holds none."""
    from flowkit.language.documents import DocumentError, unwrap

    try:
        found = unwrap(parse(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, DocumentError):
        return []
    named = []
    for item in found:
        if not isinstance(item.doc, dict):
            continue
        doc = item.doc
        meta: dict[str, Any] = doc["Metadata"] if isinstance(doc.get("Metadata"), dict) else {}
        if item.type and not meta.get("type"):  # a wrapper's Type: keep it with the flow
            doc = {**doc, "Metadata": {**meta, "type": item.type}}
        named.append((str(meta.get("name") or item.name or path.stem), doc))
    return named


def duplicate_names(paths: Iterable[Path]) -> list[Finding]:
    """A warning for each flow name that two files define: a call (and ``ivr simulate``) reaches only one of them."""
    files: dict[str, list[Path]] = {}
    for path in paths:
        for name in dict.fromkeys(name for name, _ in named_flows(path)):
            files.setdefault(name, []).append(path)
    return [
        Finding(str(where[-1]), "", "duplicate-name", "warning",
                f"flow name {name!r} is also the name of {', '.join(map(str, where[:-1]))}: "
                "a flow name must be unique in an instance, and a transfer reaches only one of them")
        for name, where in files.items() if len(where) > 1
    ]  # fmt: skip
