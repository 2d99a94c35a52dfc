"""An offline linter for Amazon Connect flows.

It reads the kit's flow files (``%Kind.Name%`` placeholders allowed) and flows exported from the Connect console
(extra Metadata is fine), and reports each finding with its file, action, rule, severity and a fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
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
    JSONPATH_ROOTS,
    MAX_ACTIONS,
    MAX_IDENTIFIER,
    METRIC_AGENT_TYPES,
    OPERATORS,
    RESERVED_IDS,
    ActionSpec,
    spec_for,
)

Severity = Literal["error", "warning"]

PLACEHOLDER = re.compile(r"%([A-Za-z]+)(?:\.([A-Za-z0-9_-]+))?%")
_JSONPATH = re.compile(r"\$\.([A-Za-z]+)((?:\.[A-Za-z0-9_-]+)*)")
_ACCOUNT = re.compile(r"(?<![\d+])\d{12}(?!\d)")
_ARN = re.compile(r"\barn:aws[a-z-]*:[a-z0-9-]+:")
_REGION = re.compile(
    r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(gov-)?(east|west|north|south|central|northeast|southeast|southwest|northwest)-\d\b"
)


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


def _get(params: dict[str, Any], dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def flow_type_of(doc: dict[str, Any]) -> str | None:
    """The flow type from the Metadata (kit files and console exports both write it)."""
    meta = doc.get("Metadata")
    raw = meta.get("type") if isinstance(meta, dict) else None
    if not isinstance(raw, str):
        return None
    return CONSOLE_TYPES.get(raw, raw if raw in FLOW_TYPES else None)


class _Linter:
    def __init__(self, file: str, doc: Any, flow_type: str | None) -> None:
        self.file = file
        self.doc = doc
        self.flow_type = flow_type
        self.findings: list[Finding] = []

    def add(self, action: str, rule: str, message: str, severity: Severity = "error") -> None:
        self.findings.append(Finding(self.file, action, rule, severity, message))

    # -- document ------------------------------------------------------------------------------------------------
    def run(self) -> list[Finding]:
        doc = self.doc
        if not isinstance(doc, dict):
            self.add("", "flow-structure", "a flow is a JSON object with Version, StartAction and Actions")
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
        by_id = self._identifiers(actions)
        start = doc.get("StartAction")
        if not isinstance(start, str) or start not in by_id:
            self.add("", "start-action", f"StartAction {start!r} is not the Identifier of any action")
        for action in by_id.values():
            self._action(action, by_id)
        if isinstance(start, str) and start in by_id:
            self._graph(start, by_id)
        return self.findings

    def _identifiers(self, actions: list[Any]) -> dict[str, dict[str, Any]]:
        by_id: dict[str, dict[str, Any]] = {}
        for index, action in enumerate(actions):
            if not isinstance(action, dict):
                self.add(f"Actions[{index}]", "flow-structure", "each action is an object with Identifier and Type")
                continue
            ident = action.get("Identifier")
            if not isinstance(ident, str) or not ident.strip():
                self.add(f"Actions[{index}]", "identifier", "the action has no Identifier")
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
    def _action(self, action: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> None:
        ident = str(action["Identifier"])
        kind = action.get("Type")
        spec = spec_for(kind) if isinstance(kind, str) else None
        if spec is None:
            self.add(
                ident,
                "unknown-action-type",
                f"Type {kind!r} is not a flow-language action type (UI block names such as 'Set voice' are not types)",
            )
            transitions = action.get("Transitions")
            if isinstance(transitions, dict):
                self._targets_exist(ident, transitions, by_id)
            return
        params = action.get("Parameters", {})
        if not isinstance(params, dict):
            self.add(ident, "parameters", "Parameters must be an object")
            params = {}
        transitions = action.get("Transitions", {})
        if not isinstance(transitions, dict):
            self.add(ident, "transitions", "Transitions must be an object")
            return
        if self.flow_type and self.flow_type not in spec.flows:
            allowed = ", ".join(sorted(spec.flows))
            self.add(ident, "flow-type", f"{kind} is not allowed in a {self.flow_type} flow (allowed in: {allowed})")
        if not spec.lenient:
            self._parameters(ident, str(kind), spec, params)
        self._transitions(ident, str(kind), spec, params, transitions, by_id)
        self._dr_safety(ident, params)

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
            if isinstance(value, str) and "$." in value:
                self.add(ident, "static-parameter", f"Parameters.{name} must be a static value, not a JSONPath")
        for name in spec.single_path:
            value = _get(params, name)
            if isinstance(value, str) and "$." in value:
                self._single_path(ident, name, value)
        for name, rule in spec.numbers.items():
            value = _get(params, name)
            if value is None or (rule.dynamic and isinstance(value, str) and value.startswith("$.")):
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.add(ident, "number-range", f"Parameters.{name} is {value!r}; expected a number")
                continue
            if not rule.low <= number <= rule.high:
                self.add(ident, "number-range", f"Parameters.{name} is {value}; allowed {rule.low:g} to {rule.high:g}")
        for name, allowed in spec.enums.items():
            value = _get(params, name)
            if (
                value is not None
                and not (isinstance(value, str) and PLACEHOLDER.fullmatch(value))
                and value not in (allowed)
            ):
                self.add(
                    ident, "enum-value", f"Parameters.{name} is {value!r}; use one of {', '.join(sorted(allowed))}"
                )
        self._type_specific(ident, kind, params)
        self._jsonpaths(ident, params)

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
                too_long = sync and limit is not None and float(limit) > 8
            except (TypeError, ValueError):
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
                            f"{key!r} is not an event hook; use one of {', '.join(sorted(EVENT_HOOKS))}",
                        )

    def _single_path(self, ident: str, name: str, value: str) -> None:
        if not _JSONPATH.fullmatch(value):
            self.add(
                ident,
                "jsonpath",
                f"Parameters.{name} must be exactly one JSONPath such as '$.Attributes.key', not {value!r}",
            )

    def _jsonpaths(self, ident: str, params: dict[str, Any]) -> None:
        for text in _strings(params):
            for match in _JSONPATH.finditer(text):
                if match.group(1) not in JSONPATH_ROOTS:
                    self.add(
                        ident,
                        "jsonpath",
                        f"$.{match.group(1)} is not a JSONPath root Connect knows "
                        "(for example $.Attributes, $.External, $.Lex)",
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
            if transitions:
                self.add(ident, "terminal-transitions", f"{kind} ends the flow: set Transitions to {{}}")
            return
        conditions = transitions.get("Conditions") or []
        errors = transitions.get("Errors") or []
        nxt = transitions.get("NextAction")
        if nxt is None and not conditions and kind != "MessageParticipantIteratively":
            self.add(
                ident,
                "missing-next-action",
                "a non-terminal action needs Transitions.NextAction (or conditions that cover every result)",
            )
        self._targets_exist(ident, transitions, by_id)
        error_types = [e.get("ErrorType") for e in errors if isinstance(e, dict)]
        if not spec.lenient:
            for error in error_types:
                if error not in spec.errors:
                    allowed = ", ".join(sorted(spec.errors)) or "none"
                    self.add(ident, "error-type", f"{kind} has no error {error!r} (its errors: {allowed})")
        if len(set(error_types)) != len(error_types):
            self.add(ident, "error-type", "an error type is listed twice")
        if kind == "GetParticipantInput" and "NoMatchingError" not in error_types:
            self.add(ident, "missing-error-branch", "Get customer input must always handle NoMatchingError")
        self._conditions(ident, kind, spec, params, conditions, error_types)

    def _targets_exist(self, ident: str, transitions: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> None:
        for target in self._targets(transitions):
            if target not in by_id:
                self.add(ident, "transition-target", f"the transition goes to {target!r}, which is not an action")

    @staticmethod
    def _targets(transitions: dict[str, Any]) -> Iterator[str]:
        nxt = transitions.get("NextAction")
        if isinstance(nxt, str):
            yield nxt
        for item in (transitions.get("Conditions") or []) + (transitions.get("Errors") or []):
            if isinstance(item, dict) and isinstance(item.get("NextAction"), str):
                yield item["NextAction"]

    def _conditions(
        self,
        ident: str,
        kind: str,
        spec: ActionSpec,
        params: dict[str, Any],
        conditions: list[Any],
        error_types: list[Any],
    ) -> None:
        rule = spec.conditions
        parsed: list[tuple[str, list[Any]]] = []
        for item in conditions:
            cond = item.get("Condition") if isinstance(item, dict) else None
            if (
                not isinstance(cond, dict)
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
        operators = {op for op, _ in parsed}
        if rule in ("dtmf", "equals", "hours", "loop") and operators != {"Equals"}:
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
        elif rule == "hours" and sorted(str(v) for v in operands) != ["False", "True"]:
            self.add(
                ident, "condition", "CheckHoursOfOperation takes exactly two conditions: Equals True and Equals False"
            )
        elif rule == "loop" and sorted(str(v) for v in operands) != ["ContinueLooping", "DoneLooping"]:
            self.add(ident, "condition", "Loop takes exactly ContinueLooping and DoneLooping")
        elif (
            rule == "metric"
            and params.get("MetricType") in METRIC_AGENT_TYPES
            and (operators != {"NumberGreaterThan"} or operands != ["0"] * len(operands))
        ):
            self.add(ident, "condition", "agent-count checks allow only NumberGreaterThan 0")
        elif rule == "percent" and operators != {"NumberLessThan"}:
            self.add(ident, "condition", "DistributeByPercentage conditions use NumberLessThan thresholds")
        if len(set(map(str, operands))) != len(operands):
            self.add(ident, "condition", "two conditions test the same value; the second can never be taken", "warning")

    # -- DR safety -----------------------------------------------------------------------------------------------
    def _dr_safety(self, ident: str, params: dict[str, Any]) -> None:
        for text in _strings(params):
            plain = PLACEHOLDER.sub("", text)
            if _ARN.search(plain):
                self.add(
                    ident,
                    "dr-literal-arn",
                    "a literal ARN ties the flow to one region and account; use a "
                    "%Kind.Name% placeholder (ivr flows import does this)",
                )
            elif _ACCOUNT.search(plain):
                self.add(
                    ident, "dr-literal-account", "a literal 12-digit account id breaks the DR region; use a placeholder"
                )
            elif _REGION.search(plain):
                self.add(
                    ident,
                    "dr-literal-region",
                    "a literal region name breaks the DR region; use $.AwsRegion or a placeholder",
                )

    # -- graph ---------------------------------------------------------------------------------------------------
    def _graph(self, start: str, by_id: dict[str, dict[str, Any]]) -> None:
        edges = {
            i: [t for t in self._targets(a.get("Transitions") or {}) if t in by_id]
            if isinstance(a.get("Transitions"), dict)
            else []
            for i, a in by_id.items()
        }
        reachable = _reach(start, edges)
        for ident in by_id:
            if ident not in reachable:
                self.add(
                    ident, "unreachable-action", "no path from StartAction leads here; remove it or link it", "warning"
                )
        kinds = {i: str(a.get("Type")) for i, a in by_id.items()}
        for component in _cycles(edges):
            if not component <= reachable:
                continue
            controlled = any(
                (s := spec_for(kinds[i])) is not None and (s.takes_input or kinds[i] == "Loop") for i in component
            )
            if not controlled:
                first = sorted(component)[0]
                self.add(
                    first,
                    "cycle-without-exit",
                    f"actions {', '.join(sorted(component))} form a cycle with "
                    "no caller input and no Loop: the call can spin forever",
                    "warning",
                )
        ends = {i for i, k in kinds.items() if (s := spec_for(k)) is not None and (s.terminal or s.ends_flow)}
        reverse: dict[str, list[str]] = {i: [] for i in by_id}
        for source, targets in edges.items():
            for target in targets:
                reverse[target].append(source)
        can_end: set[str] = set()
        for end in ends:
            can_end |= _reach(end, reverse)
        for ident in sorted(reachable - can_end):
            self.add(
                ident,
                "path-never-ends",
                "no path from here reaches a terminal action or a transfer; the call would never end",
            )


def _reach(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen = {start}
    stack = [start]
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


def lint_flow(doc: Any, file: str = "<flow>", flow_type: str | None = None) -> list[Finding]:
    """Lint one parsed flow document."""
    return _Linter(file, doc, flow_type).run()


def lint_text(text: str, file: str = "<flow>", flow_type: str | None = None) -> list[Finding]:
    """Lint flow JSON text; a parse error is a finding, not an exception."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return [Finding(file, "", "json", "error", f"not valid JSON: {exc}")]
    return lint_flow(doc, file, flow_type)


def lint_path(path: Path) -> list[Finding]:
    """Lint one file; raises OSError when it cannot be read."""
    return lint_text(path.read_text(encoding="utf-8"), str(path))
