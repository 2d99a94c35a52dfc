"""The service limits the kit depends on, checked offline against the synthesized templates.

Offline green is not enough when a template breaks a rule that only the service enforces, at deploy time, in a
real account. Each rule here states a limit, where it comes from, and checks every stack of a cloud assembly
against it; ``app.py`` runs them after synthesis (so ``cdk synth``, ``cdk deploy`` and ``ivr synth`` stop on a
violation) and ``ivr synth`` reports them.

Values that CloudFormation resolves at deploy time (``Ref``, ``Fn::GetAtt``, ...) are counted at
:data:`TOKEN_BYTES`, longer than any ARN or id the kit's templates resolve to, so that a size check errs on the
safe side.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regions.quotas import FIS_ACTIONS, FIS_ARNS_PER_TARGET, FIS_STOP_CONDITIONS

#: What a resolved intrinsic is counted as in a size: a Connect flow ARN is about 150 characters, a role ARN
#: about 100. In a name or description, where intrinsics resolve to names and ids (a bucket name is at most 63
#: characters, a stack name 128, an id 36), as NAME_TOKEN_CHARS.
TOKEN_BYTES = 256
NAME_TOKEN_CHARS = 64
_MARKER = "\u2063TOKEN{}\u2063"  # an invisible marker that cannot occur in the kit's own text
_TOKEN_RE = re.compile("\u2063TOKEN(\\d+)\u2063")

# -- the limits, each with its source --------------------------------------------------------------------------
#: CloudFormation quotas (CloudFormation user guide, "Understand CloudFormation quotas"): a template staged in S3
#: may be at most 1 MB (a template passed in the request at most 51,200 bytes, which is why the CDK CLI stages
#: larger ones in the bootstrap bucket); at most 500 resources, 200 outputs, 200 parameters and 200 mappings per
#: template. A nested stack's template is a template of its own: each one is held to these.
TEMPLATE_BYTES = 1_000_000
RESOURCES = 500
OUTPUTS = 200
PARAMETERS = 200
MAPPINGS = 200
#: Systems Manager quotas ("Systems Manager service quotas", Documents): a document's content is at most 64 KB.
SSM_DOCUMENT_BYTES = 64 * 1024
#: Lambda quotas ("Lambda quotas", Function configuration): environment variables total at most 4 KB.
LAMBDA_ENVIRONMENT_BYTES = 4 * 1024
#: Lambda API reference, CreateFunction: a function name alone is at most 64 characters (the 140 of the model
#: counts a full ARN); Description at most 256 (botocore ``lambda`` model).
LAMBDA_NAME_CHARS = 64
LAMBDA_DESCRIPTION_CHARS = 256
#: Connect: the AWS::Connect::ContactFlow resource schema (cfn-lint's bundled CloudFormation schemas):
#: Content 1-256,000 characters, Name 1-127, Description at most 500.
FLOW_CONTENT_CHARS = 256_000
FLOW_NAME_CHARS = 127
FLOW_DESCRIPTION_CHARS = 500
#: Connect API model (botocore ``connect``): queue, hours and routing-profile names (CommonNameLength127,
#: RoutingProfileName) 1-127, their descriptions 1-250; traffic distribution group Name128 and Description250;
#: instance alias (DirectoryAlias) 1-45.
CONNECT_NAMES: dict[str, tuple[int, int]] = {
    "AWS::Connect::Queue": (127, 250),
    "AWS::Connect::HoursOfOperation": (127, 250),
    "AWS::Connect::RoutingProfile": (127, 250),
    "AWS::Connect::TrafficDistributionGroup": (128, 250),
}
INSTANCE_ALIAS_CHARS = 45
#: CloudWatch API model (botocore ``cloudwatch`` PutMetricAlarm): AlarmName 1-255, AlarmDescription at most 1024;
#: a PutMetricAlarm ``Metrics`` array holds at most 20 MetricDataQuery structures, of them at most 10 with a
#: MetricStat (the MetricDataQuery reference of the CloudFormation template reference and the API reference).
#: CloudWatch quotas ("CloudWatch service quotas", Dashboards): at most 500 widgets a dashboard, 500 metrics a
#: widget and 2,500 metrics a dashboard; PutDashboard's DashboardName at most 255 characters.
ALARM_NAME_CHARS = 255
ALARM_DESCRIPTION_CHARS = 1024
ALARM_METRICS = 10
ALARM_QUERIES = 20
#: ... of them at most 10 with an Expression, and an Expression of at most 2,048 characters (the CloudFormation
#: template reference, AWS::CloudWatch::Alarm MetricDataQuery).
ALARM_EXPRESSIONS = 10
ALARM_EXPRESSION_CHARS = 2048
#: CloudFormation quotas: one stack operation, nested stacks included, handles at most 2,500 resources.
STACK_OPERATION_RESOURCES = 2500
DASHBOARD_WIDGETS = 500
DASHBOARD_WIDGET_METRICS = 500
DASHBOARD_METRICS = 2500
DASHBOARD_NAME_CHARS = 255
#: AWS::Connect::TrafficDistributionGroup exists only in these regions (the Connect admin guide, "Set up Amazon
#: Connect Global Resiliency"; the CloudFormation resource reference for the type).
TDG_REGIONS = frozenset({"us-east-1", "us-west-2", "eu-central-1", "eu-west-2", "ap-northeast-1", "ap-northeast-3"})
#: Connect waits at most 8 s for a synchronous Lambda (InvokeLambdaFunction's InvocationTimeLimitSeconds, 1-8,
#: Connect admin guide "Invoke AWS Lambda function"); a block without the parameter waits the maximum.
CONNECT_LAMBDA_WAIT_SECONDS = 8


class LimitViolationError(RuntimeError):
    """The synthesized templates break a service limit; the message names each stack, resource and rule."""


@dataclass(frozen=True)
class Violation:
    """One broken rule: where, what, and the rule's name."""

    stack: str
    where: str
    message: str
    rule: str

    def __str__(self) -> str:
        return f"{self.stack}: {self.where}: {self.message} [rule {self.rule}]"


@dataclass
class StackTemplate:
    """A synthesized stack as the rules see it."""

    name: str
    region: str
    template: dict[str, Any]
    size: int
    tokens: list[Any] = field(default_factory=list)
    #: The other stacks of the assembly: in global-resiliency mode the primary's flows call the DR region's
    #: functions too (same names, resolved with ``$.AwsRegion``).
    peers: list[StackTemplate] = field(default_factory=list, repr=False)
    #: The templates of this stack's nested stacks (the flows' nested stacks), each a template of its own.
    nested: list[StackTemplate] = field(default_factory=list, repr=False)
    #: For a nested stack's template: the logical id of the AWS::CloudFormation::Stack resource in its parent.
    parent_resource: str | None = None

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.template.get("Resources", {}))

    def of_type(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == resource_type:
                yield logical_id, dict(resource.get("Properties") or {})

    def text(self, value: Any) -> str:
        """A property value as the service will see it, intrinsics replaced by numbered markers."""
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float, bool)):
            return json.dumps(value)
        if isinstance(value, dict) and set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return str(separator).join(self.text(part) for part in parts)
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::")):
            self.tokens.append(value)
            return _MARKER.format(len(self.tokens) - 1)
        # A structure (an SSM document's content): the service receives it as JSON.
        return json.dumps(_resolve_markers(self, value), separators=(",", ":"), ensure_ascii=False)

    def size_of(self, value: Any, token_bytes: int = TOKEN_BYTES) -> int:
        """Bytes of a property value, each intrinsic counted as ``token_bytes``."""
        text = self.text(value)
        markers = _TOKEN_RE.findall(text)
        return len(_TOKEN_RE.sub("", text).encode("utf-8")) + token_bytes * len(markers)

    def token(self, text: str) -> Any | None:
        """The intrinsic a marker in ``text`` stands for (the first one), or None."""
        found = _TOKEN_RE.search(text)
        return self.tokens[int(found.group(1))] if found else None


def _resolve_markers(stack: StackTemplate, value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::")):
            return stack.text(value)
        return {k: _resolve_markers(stack, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_markers(stack, v) for v in value]
    return value


Finding = tuple[str, str]  # (where, message)


@dataclass(frozen=True)
class Rule:
    """A service limit the kit depends on; ``check`` yields (where, message) for each breach in one stack.

    A rule of a template (``per_template``: size, counts) runs on the stack's own template and on each of its
    nested stacks' templates; the others run once on the stack with its nested stacks' resources in it, so that
    a flow in a nested stack is checked against the function it calls in the parent.
    """

    name: str
    source: str
    check: Callable[[StackTemplate], Iterable[Finding]]
    per_template: bool = False


# -- the checks ---------------------------------------------------------------------------------------------------
def _fix(stack: StackTemplate) -> str:
    """What to do about a template that is too big: a flows' nested stack is split by the deployment file."""
    if stack.parent_resource is not None and "/Flows/" in f"/{stack.name.split('/', 1)[-1]}":
        return (
            "; raise flows.groups_per_level in the deployment file so that new flows spread over more nested stacks "
            "(recorded flows stay: move one only by deploying without it, then with it, its LAYOUT.yaml entry gone)"
        )
    return "; move resources into a nested stack or a stack of their own"


def _template_size(stack: StackTemplate) -> Iterable[Finding]:
    if stack.size > TEMPLATE_BYTES:
        yield (
            "template",
            f"{stack.size:,} bytes, over CloudFormation's {TEMPLATE_BYTES:,}-byte template limit{_fix(stack)}",
        )


def _counts(stack: StackTemplate) -> Iterable[Finding]:
    for section, limit in (
        ("Resources", RESOURCES),
        ("Outputs", OUTPUTS),
        ("Parameters", PARAMETERS),
        ("Mappings", MAPPINGS),
    ):
        count = len(stack.template.get(section, {}))
        if count > limit:
            yield section, f"{count} {section.lower()}, over CloudFormation's {limit} per template{_fix(stack)}"


def _stack_operation(stack: StackTemplate) -> Iterable[Finding]:
    """Runs on the stack seen whole: its own resources and its nested stacks'."""
    count = len(stack.resources)
    if count > STACK_OPERATION_RESOURCES:
        yield (
            "resources with nested stacks",
            f"{count:,}, over CloudFormation's {STACK_OPERATION_RESOURCES:,} per stack operation: split the "
            "deployment's flows or pieces into stacks deployed apart",
        )


def _ssm_documents(stack: StackTemplate) -> Iterable[Finding]:
    for logical_id, props in stack.of_type("AWS::SSM::Document"):
        size = stack.size_of(props.get("Content", ""))
        if size > SSM_DOCUMENT_BYTES:
            yield (
                f"{logical_id} (AWS::SSM::Document) Content",
                f"{size / 1024:.1f} KB, over SSM's {SSM_DOCUMENT_BYTES // 1024} KB document limit "
                "(attach scripts instead of embedding them)",
            )


def _lambda_environment(stack: StackTemplate) -> Iterable[Finding]:
    for logical_id, props in stack.of_type("AWS::Lambda::Function"):
        variables = (props.get("Environment") or {}).get("Variables") or {}
        size = sum(len(str(k).encode("utf-8")) + stack.size_of(v) for k, v in variables.items())
        if size > LAMBDA_ENVIRONMENT_BYTES:
            yield (
                f"{logical_id} (AWS::Lambda::Function) Environment",
                f"{size:,} bytes of variables, over Lambda's {LAMBDA_ENVIRONMENT_BYTES:,}-byte limit",
            )


def _lambda_names(stack: StackTemplate) -> Iterable[Finding]:
    for logical_id, props in stack.of_type("AWS::Lambda::Function"):
        where = f"{logical_id} (AWS::Lambda::Function)"
        yield from _length(stack, where, props, "FunctionName", LAMBDA_NAME_CHARS)
        yield from _length(stack, where, props, "Description", LAMBDA_DESCRIPTION_CHARS)


def _flows(stack: StackTemplate) -> Iterable[Finding]:
    for logical_id, props in stack.of_type("AWS::Connect::ContactFlow"):
        where = f"{logical_id} (AWS::Connect::ContactFlow)"
        size = stack.size_of(props.get("Content", ""))
        if size > FLOW_CONTENT_CHARS:
            yield f"{where} Content", f"{size:,} characters, over Connect's {FLOW_CONTENT_CHARS:,}"
        yield from _length(stack, where, props, "Name", FLOW_NAME_CHARS)
        yield from _length(stack, where, props, "Description", FLOW_DESCRIPTION_CHARS)


def _length(stack: StackTemplate, where: str, props: dict[str, Any], key: str, limit: int) -> Iterable[Finding]:
    if key in props and (length := stack.size_of(props[key], NAME_TOKEN_CHARS)) > limit:
        yield f"{where} {key}", f"{length} characters, over the limit of {limit}"


def _connect_names(stack: StackTemplate) -> Iterable[Finding]:
    for resource_type, (name_limit, description_limit) in CONNECT_NAMES.items():
        for logical_id, props in stack.of_type(resource_type):
            where = f"{logical_id} ({resource_type})"
            yield from _length(stack, where, props, "Name", name_limit)
            yield from _length(stack, where, props, "Description", description_limit)
    for logical_id, props in stack.of_type("AWS::Connect::Instance"):
        where = f"{logical_id} (AWS::Connect::Instance)"
        yield from _length(stack, where, props, "InstanceAlias", INSTANCE_ALIAS_CHARS)


def _alarms(stack: StackTemplate) -> Iterable[Finding]:
    for logical_id, props in stack.of_type("AWS::CloudWatch::Alarm"):
        where = f"{logical_id} (AWS::CloudWatch::Alarm)"
        yield from _length(stack, where, props, "AlarmName", ALARM_NAME_CHARS)
        yield from _length(stack, where, props, "AlarmDescription", ALARM_DESCRIPTION_CHARS)
        queries = list(props.get("Metrics") or [])
        metrics = [m for m in queries if "MetricStat" in m]
        if len(metrics) > ALARM_METRICS:
            yield (
                f"{where} Metrics",
                f"{len(metrics)} metrics, over CloudWatch's {ALARM_METRICS} per alarm: alarm on one Metrics Insights "
                "query over the dimension instead of listing metrics",
            )
        if len(queries) > ALARM_QUERIES:
            yield f"{where} Metrics", f"{len(queries)} queries, over CloudWatch's {ALARM_QUERIES} per alarm"
        expressions = [q for q in queries if "Expression" in q]
        if len(expressions) > ALARM_EXPRESSIONS:
            yield f"{where} Metrics", f"{len(expressions)} expressions, over CloudWatch's {ALARM_EXPRESSIONS} per alarm"
        for query in expressions:
            length = stack.size_of(query["Expression"], NAME_TOKEN_CHARS)
            if length > ALARM_EXPRESSION_CHARS:
                yield (
                    f"{where} Metrics[{query.get('Id')}].Expression",
                    f"{length:,} characters, over CloudWatch's {ALARM_EXPRESSION_CHARS:,}",
                )
    for logical_id, props in stack.of_type("AWS::CloudWatch::Dashboard"):
        where = f"{logical_id} (AWS::CloudWatch::Dashboard)"
        yield from _length(stack, where, props, "DashboardName", DASHBOARD_NAME_CHARS)
        yield from _dashboard_body(where, stack.text(props.get("DashboardBody", "")))


def _dashboard_body(where: str, body: str) -> Iterable[Finding]:
    """Widgets, metrics a widget and metrics a dashboard; the body is JSON with intrinsics as markers."""
    try:
        widgets = json.loads(_TOKEN_RE.sub("0", body)).get("widgets", [])
    except (ValueError, AttributeError):
        widgets = []
    if len(widgets) > DASHBOARD_WIDGETS:
        yield f"{where} DashboardBody", f"{len(widgets)} widgets, over CloudWatch's {DASHBOARD_WIDGETS} per dashboard"
    total = 0
    for index, widget in enumerate(widgets):
        metrics = len(((widget or {}).get("properties") or {}).get("metrics") or [])
        total += metrics
        if metrics > DASHBOARD_WIDGET_METRICS:
            yield (
                f"{where} DashboardBody widgets[{index}]",
                f"{metrics} metrics, over CloudWatch's {DASHBOARD_WIDGET_METRICS} per widget: graph a Metrics "
                "Insights query instead",
            )
    if total > DASHBOARD_METRICS:
        yield f"{where} DashboardBody", f"{total} metrics, over CloudWatch's {DASHBOARD_METRICS} per dashboard"


def _tdg_regions(stack: StackTemplate) -> Iterable[Finding]:
    if stack.region in TDG_REGIONS:
        return
    for logical_id, _ in stack.of_type("AWS::Connect::TrafficDistributionGroup"):
        yield (
            f"{logical_id} (AWS::Connect::TrafficDistributionGroup)",
            f"traffic distribution groups exist only in {', '.join(sorted(TDG_REGIONS))}, not {stack.region}",
        )


# -- timeouts: the function gives up before the flow, the alarm fires before either ---------------------------------
def function_timeouts(stack: StackTemplate) -> dict[str, tuple[str, int]]:
    """Function logical id -> (function name if literal, else the logical id; Timeout in seconds, default 3)."""
    found = {}
    for logical_id, props in stack.of_type("AWS::Lambda::Function"):
        name = props.get("FunctionName")
        found[logical_id] = (name if isinstance(name, str) else logical_id, int(props.get("Timeout", 3)))
    return found


def _function_of(stack: StackTemplate, reference: Any) -> str | None:
    """The function logical id an intrinsic resolves to: the function itself, or an alias or version of it."""
    if not isinstance(reference, dict):
        return None
    target = reference.get("Ref") or (reference.get("Fn::GetAtt") or [None])[0]
    resources = stack.resources
    resource = resources.get(str(target)) if target else None
    if resource is None:
        return None
    if resource["Type"] == "AWS::Lambda::Function":
        return str(target)
    if resource["Type"] in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        return _function_of(stack, resource.get("Properties", {}).get("FunctionName"))
    return None


def _lambda_blocks(stack: StackTemplate) -> Iterator[tuple[str, str, float]]:
    """(flow block, LambdaFunctionARN as text, seconds the block waits) of every synchronous InvokeLambdaFunction."""
    for logical_id, props in stack.of_type("AWS::Connect::ContactFlow"):
        try:
            content = json.loads(stack.text(props.get("Content", "{}")))
        except json.JSONDecodeError:
            continue
        for action in content.get("Actions", []):
            params = action.get("Parameters") or {}
            synchronous = params.get("InvocationType", "SYNCHRONOUS") == "SYNCHRONOUS"
            if action.get("Type") != "InvokeLambdaFunction" or not synchronous:
                continue
            limit = float(params.get("InvocationTimeLimitSeconds", CONNECT_LAMBDA_WAIT_SECONDS))
            yield f"{logical_id} [{action.get('Identifier')}]", str(params.get("LambdaFunctionARN", "")), limit


def _named_function(arn: str) -> str | None:
    """The function name written in an ARN (``...:function:NAME[:qualifier]``), ignoring resolved parts."""
    named = re.search(r"function:([A-Za-z0-9_-]+)", _TOKEN_RE.sub("", arn))
    return named.group(1) if named else None


def flow_lambda_limits(stack: StackTemplate) -> dict[str, list[tuple[str, float]]]:
    """Function logical id -> [(flow block, seconds the block waits)] for the stack's own flows.

    A block finds its function through the intrinsic in its ARN (an alias, version or function of this stack) or
    through the function name written in the ARN (a region-neutral ARN such as
    ``arn:aws:lambda:$.AwsRegion:...:function:NAME:live`` reaches the same-named function in each region).
    """
    by_name = {name: logical_id for logical_id, (name, _) in function_timeouts(stack).items()}
    found: dict[str, list[tuple[str, float]]] = {}
    for block, arn, limit in _lambda_blocks(stack):
        function = _function_of(stack, stack.token(arn)) or by_name.get(_named_function(arn) or "")
        if function is not None:
            found.setdefault(function, []).append((block, limit))
    return found


def _block_limits(stack: StackTemplate) -> dict[str, list[tuple[str, float]]]:
    """Function logical id -> calling blocks: this stack's flows, and peers' flows that name the function."""
    limits = flow_lambda_limits(stack)
    local = {name: logical_id for logical_id, (name, _) in function_timeouts(stack).items()}
    for peer in stack.peers:
        for block, arn, limit in _lambda_blocks(peer):
            # A block bound to the peer's own function (its ARN refers to it) stays in the peer's region.
            if _function_of(peer, peer.token(arn)) is None and (_named_function(arn) or "") in local:
                limits.setdefault(local[_named_function(arn) or ""], []).append((f"{peer.name}/{block}", limit))
    return limits


def _timeouts(stack: StackTemplate) -> Iterable[Finding]:
    timeouts = function_timeouts(stack)
    limits = _block_limits(stack)
    for function, blocks in limits.items():
        name, timeout = timeouts[function]
        for block, limit in blocks:
            if timeout >= limit:
                yield (
                    f"{function} (AWS::Lambda::Function) Timeout",
                    f"{name} times out after {timeout} s, but flow block {block} gives up after {limit:g} s: the "
                    "function must give up first, so that its error is logged and the flow's error branch is taken "
                    "for a reason",
                )
    for logical_id, props in stack.of_type("AWS::CloudWatch::Alarm"):
        if props.get("Namespace") != "AWS/Lambda" or props.get("MetricName") != "Duration":
            continue
        dimension = next((d for d in props.get("Dimensions") or [] if d.get("Name") == "FunctionName"), None)
        alarmed = _function_of(stack, dimension.get("Value")) if dimension else None
        if alarmed is None or alarmed not in timeouts:
            continue
        name, timeout = timeouts[alarmed]
        ceiling = min([timeout, *(limit for _, limit in limits.get(alarmed, []))]) * 1000
        threshold = float(props.get("Threshold", 0))
        if threshold >= ceiling:
            yield (
                f"{logical_id} (AWS::CloudWatch::Alarm) Threshold",
                f"fires at {threshold:g} ms, not before {name} fails ({ceiling:g} ms: its timeout or the shortest "
                "flow block that calls it); callers would reach the error branch before anyone is told",
            )


def _fis_templates(stack: StackTemplate) -> Iterable[Finding]:
    for logical_id, props in stack.of_type("AWS::FIS::ExperimentTemplate"):
        where = f"{logical_id} (AWS::FIS::ExperimentTemplate)"
        stops = len(props.get("StopConditions") or [])
        if stops > FIS_STOP_CONDITIONS:
            yield (
                f"{where} StopConditions",
                f"{stops} stop conditions, over FIS's {FIS_STOP_CONDITIONS} per experiment template (quota "
                "L-872EC72B): name fewer functions in chaos.latency_targets",
            )
        for name, target in (props.get("Targets") or {}).items():
            arns = len(target.get("ResourceArns") or [])
            if arns > FIS_ARNS_PER_TARGET:
                yield (
                    f"{where} Targets.{name}",
                    f"{arns} resource ARNs, over FIS's {FIS_ARNS_PER_TARGET} per target (API reference, "
                    "ExperimentTemplateTarget): split them over several targets",
                )
        actions = len(props.get("Actions") or {})
        if actions > FIS_ACTIONS:
            yield (
                f"{where} Actions",
                f"{actions} actions, over FIS's {FIS_ACTIONS} per experiment template (quota L-0BFE6B67)",
            )


RULES: tuple[Rule, ...] = (
    Rule("template-size", "CloudFormation quotas: template body in S3 at most 1 MB", _template_size, per_template=True),
    Rule(
        "template-counts",
        "CloudFormation quotas: 500 resources, 200 outputs, 200 parameters, 200 mappings",
        _counts,
        per_template=True,
    ),
    Rule(
        "stack-operation",
        "CloudFormation quotas: 2,500 resources in one stack operation, nested stacks included",
        _stack_operation,
    ),
    Rule("ssm-document-size", "Systems Manager quotas: document content at most 64 KB", _ssm_documents),
    Rule("lambda-environment", "Lambda quotas: environment variables at most 4 KB", _lambda_environment),
    Rule("lambda-names", "Lambda CreateFunction: function name 64, description 256", _lambda_names),
    Rule("flow-content", "AWS::Connect::ContactFlow schema: Content 256,000, Name 127, Description 500", _flows),
    Rule("connect-names", "Connect API model: names 127/128, descriptions 250, instance alias 45", _connect_names),
    Rule("cloudwatch", "CloudWatch API model and quotas: alarm names, metrics per alarm, dashboard widgets", _alarms),
    Rule("tdg-regions", "Connect Global Resiliency: traffic distribution groups in six regions", _tdg_regions),
    Rule("lambda-timeouts", "Connect waits InvocationTimeLimitSeconds (at most 8 s) for a function", _timeouts),
    Rule(
        "fis-templates",
        "FIS: 5 stop conditions, 20 actions per experiment template; 5 resource ARNs per target",
        _fis_templates,
    ),
)


# -- running the rules ----------------------------------------------------------------------------------------------
def check_stack(
    stack: StackTemplate, rules: Iterable[Rule] = RULES, *, whole: StackTemplate | None = None
) -> list[Violation]:
    """Every breach of ``rules`` in one stack and its nested stacks (``whole``: the stack with its nested stacks'
    resources, when the caller has it already)."""
    rules = tuple(rules)
    found = []
    for template in (stack, *stack.nested):
        for rule in (r for r in rules if r.per_template):
            found += [Violation(template.name, where, message, rule.name) for where, message in rule.check(template)]
    if whole is None:
        whole = with_nested_resources(stack) if stack.nested else stack
    for rule in (r for r in rules if not r.per_template):
        found += [Violation(stack.name, where, message, rule.name) for where, message in rule.check(whole)]
    return found


def with_nested_resources(stack: StackTemplate) -> StackTemplate:
    """The stack with its nested stacks' resources in it, as ``<nested stack>/<logical id>`` (``Flows/L1G3/...``).

    Each reference to a nested stack's parameter is replaced by the value the parent passes, so that a flow's
    function ARN leads back to the parent's function; references within a nested stack follow its renamed ids.
    """
    resources = dict(stack.resources)
    passed: dict[str, dict[str, Any]] = {}  # the parent's AWS::CloudFormation::Stack -> the parameters it passes
    for logical_id, resource in stack.resources.items():
        if resource.get("Type") == "AWS::CloudFormation::Stack":
            passed[logical_id] = dict((resource.get("Properties") or {}).get("Parameters") or {})
    for nested in stack.nested:
        label = nested.name.removeprefix(f"{stack.name}/")
        renamed = {logical_id: f"{label}/{logical_id}" for logical_id in nested.resources}
        values = passed.get(nested.parent_resource or "", {})
        for logical_id, resource in nested.resources.items():
            resources[renamed[logical_id]] = _substitute(resource, values, renamed)
    template = {**stack.template, "Resources": resources}
    return StackTemplate(stack.name, stack.region, template, stack.size, peers=stack.peers)


def _substitute(value: Any, parameters: dict[str, Any], renamed: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        if set(value) == {"Ref"} and value["Ref"] in renamed:
            return {"Ref": renamed[value["Ref"]]}
        if set(value) == {"Fn::GetAtt"} and isinstance(value["Fn::GetAtt"], list) and value["Fn::GetAtt"][0] in renamed:
            return {"Fn::GetAtt": [renamed[value["Fn::GetAtt"][0]], *value["Fn::GetAtt"][1:]]}
        return {k: _substitute(v, parameters, renamed) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, parameters, renamed) for v in value]
    return value


def read_stacks(outdir: Path) -> list[StackTemplate]:
    """The stacks of a cloud assembly directory (``cdk.out``), each with its nested stacks, as the rules see them."""
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    artifacts = manifest.get("artifacts", {})
    stacks = []
    for name, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        path = outdir / artifact["properties"]["templateFile"]
        raw = path.read_bytes()
        region = str(artifact.get("environment", "aws://unknown/unknown")).rsplit("/", 1)[-1]
        stack = StackTemplate(name, region, json.loads(raw), len(raw))
        stack.nested = _nested_templates(outdir, artifacts.get(f"{name}.assets"), stack)
        stacks.append(stack)
    return stacks


def nested_template_files(outdir: Path, asset_manifest: dict[str, Any] | None) -> dict[str, tuple[str, Path]]:
    """A stack's nested-stack templates (CDK stages them as file assets): display name -> (asset hash, path)."""
    if not asset_manifest:
        return {}
    listed = json.loads((outdir / asset_manifest["properties"]["file"]).read_text(encoding="utf-8"))
    found = {}
    for asset_hash, entry in (listed.get("files") or {}).items():
        source = str((entry.get("source") or {}).get("path", ""))
        if source.endswith(".nested.template.json"):
            label = str(entry.get("displayName") or asset_hash).removesuffix(" Nested Stack Template")
            found[label] = (asset_hash, outdir / source)
    return found


def _nested_templates(
    outdir: Path, asset_manifest: dict[str, Any] | None, parent: StackTemplate
) -> list[StackTemplate]:
    # The parent's AWS::CloudFormation::Stack resource names its template by the asset's hash in TemplateURL.
    by_hash = {}
    for logical_id, resource in parent.resources.items():
        if resource.get("Type") == "AWS::CloudFormation::Stack":
            url = json.dumps((resource.get("Properties") or {}).get("TemplateURL", ""))
            if found := re.search(r"/([0-9a-f]{64})\.json", url):
                by_hash[found.group(1)] = logical_id
    nested = []
    for label, (digest, path) in sorted(nested_template_files(outdir, asset_manifest).items()):
        raw = path.read_bytes()
        template = StackTemplate(f"{parent.name}/{label}", parent.region, json.loads(raw), len(raw))
        template.parent_resource = by_hash.get(digest)
        nested.append(template)
    return nested


def check_assembly(outdir: Path, rules: Iterable[Rule] = RULES) -> list[Violation]:
    """Every breach of ``rules`` in every stack of a cloud assembly."""
    rules = tuple(rules)
    stacks = read_stacks(outdir)
    # A peer is seen whole: the primary's flows, in its nested stacks, call the DR region's functions by name.
    wholes = {stack.name: with_nested_resources(stack) for stack in stacks}
    for stack in stacks:
        stack.peers = [whole for name, whole in wholes.items() if name != stack.name]
        wholes[stack.name].peers = stack.peers
    return [v for stack in stacks for v in check_stack(stack, rules, whole=wholes[stack.name])]


def enforce(outdir: Path) -> None:
    """Raise :class:`LimitViolationError` naming every breach, or return quietly."""
    violations = check_assembly(outdir)
    if violations:
        lines = "\n".join(f"  {v}" for v in violations)
        raise LimitViolationError(f"the synthesized templates break service limits the kit depends on:\n{lines}")
