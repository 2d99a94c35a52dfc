"""Deployment configuration: one YAML file per deployment, validated before any construct is built.

The schema is the single description of what a deployment may say. ``load_deployment`` turns a file into a
:class:`Deployment` or raises :class:`ConfigError` with a message that names the file and the field.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from regions.environments import (
    EnvironmentEntryError,
    environment_entries,
    environment_settings,
    sharing_problems,
    where_in_entry,
)
from regions.functions import FUNCTIONS_FILE, FunctionRegistry, FunctionRegistryError, load_functions
from regions.quotas import FIS_STOP_CONDITIONS, QUOTAS_BY_NAME
from regions.staff import MAX_PROFILE_QUEUES, ProfileQueue, RoutingProfile, Staff
from regions.yaml_files import load_yaml

#: Region pairs that Amazon Connect Global Resiliency supports (source -> replica).
#: Source: Connect admin guide, "Set up Amazon Connect Global Resiliency".
GLOBAL_RESILIENCY_PAIRS: tuple[tuple[str, str], ...] = (
    ("us-east-1", "us-west-2"),
    ("us-west-2", "us-east-1"),
    ("eu-central-1", "eu-west-2"),
    ("eu-west-2", "eu-central-1"),
    ("ap-northeast-1", "ap-northeast-3"),
)

#: Region pairs that Amazon Lex V2 Global Resiliency (bot replication) supports, both directions.
#: Source: Lex V2 developer guide, "Use Global Resiliency to deploy bots to other Regions" (pairs us-east-1 /
#: us-west-2 and eu-west-2 / eu-central-1). The kit's global-resiliency flows reach the bot through Lex bot
#: replication (same bot id and alias id in the replica Region), so a pair outside this list cannot use it
#: (ap-northeast-3 has no AWS::Lex::Bot at all in cfn-lint's CloudFormation schemas; tests/infra/test_gr_rules.py).
LEX_REPLICATION_PAIRS: frozenset[frozenset[str]] = frozenset(
    {frozenset({"us-east-1", "us-west-2"}), frozenset({"eu-west-2", "eu-central-1"})}
)

#: What the Connect Global Resiliency setup guide says of alternatives to ACGR; shown wherever standalone is chosen.
#: Source: Connect admin guide, "Set up Amazon Connect Global Resiliency" (setup-connect-global-resiliency).
STANDALONE_NOTICE = (
    "standalone mode: the Amazon Connect Global Resiliency setup guide calls ACGR the only AWS-supported way to "
    "run Amazon Connect across Regions; custom multi-Region alternatives such as this one may get reduced service "
    "limits on the secondary instance and may affect SLA coverage. Use dr_mode: global-resiliency where your "
    "Region pair and account allow it."
)

DAYS: tuple[str, ...] = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
#: Connect's HoursOfOperation day names for our three-letter days.
CONNECT_DAY = {
    "MON": "MONDAY",
    "TUE": "TUESDAY",
    "WED": "WEDNESDAY",
    "THU": "THURSDAY",
    "FRI": "FRIDAY",
    "SAT": "SATURDAY",
    "SUN": "SUNDAY",
}

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# Connect's InstanceAlias rule (CloudFormation schema): 1-45, no leading "d-", alphanumerics and inner dashes.
_INSTANCE_ALIAS = re.compile(r"^(?!d-)([\da-zA-Z]+)([-]*[\da-zA-Z])*$")
_LEX_LOCALE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")

Day = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
DrMode = Literal["global-resiliency", "standalone"]
Role = Literal["primary", "dr"]


#: Account ids that stand for "your account" in examples, never a real target: the kit's sample
#: (regions/clinic.yaml) and the one the AWS documentation uses in its examples.
PLACEHOLDER_ACCOUNTS: dict[str, str] = {
    "111111111111": "the kit's sample placeholder",
    "123456789012": "the example account of the AWS documentation",
    "222222222222": "the sample's dev and staging placeholder",
    "333333333333": "the sample's prod placeholder",
}


def placeholder_account_problem(deployment: Deployment, file: str | Path) -> str | None:
    """Why ``deployment`` cannot reach AWS as written (its account is a placeholder), naming the file and field;
    None for a real account. Synth, lint and simulate never ask: they stay offline."""
    what = PLACEHOLDER_ACCOUNTS.get(deployment.account)
    if what is None:
        return None
    return (
        f"{file}: account: {deployment.account} is {what}, not an account to deploy to; set account: to the "
        "12-digit id of your AWS account (`aws sts get-caller-identity` prints it), in a copy of the file"
    )


class ConfigError(ValueError):
    """A deployment file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    # The python regex engine is needed for Connect's look-ahead patterns.
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")


def _parse_clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int):  # YAML 1.1 reads 08:00 unquoted as a sexagesimal integer
        raise ValueError(f"write times as quoted strings, for example '08:00' (got {value!r})")
    text = str(value)
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
        raise ValueError(f"expected a 24-hour time 'HH:MM', got {text!r}")
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


Clock = Annotated[time, Field(description="24-hour 'HH:MM'")]


class _Window(_Strict):
    days: list[Day] = Field(min_length=1)
    start: Clock
    end: Clock

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> time:
        return _parse_clock(value)

    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        if self.end <= self.start:
            raise ValueError(f"end {self.end:%H:%M} must be after start {self.start:%H:%M}")
        if len(set(self.days)) != len(self.days):
            raise ValueError("a day is listed twice")
        return self


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (for example 'America/New_York')") from None
    return value


class HoursOfOperation(_Strict):
    """Opening hours of the contact center, as Connect evaluates them in CheckHoursOfOperation."""

    name: str = Field(pattern=_NAME.pattern)
    time_zone: str
    schedule: list[_Window] = Field(min_length=1)

    _zone = field_validator("time_zone")(_check_zone)


class Queue(_Strict):
    """A Connect queue; ``hours`` names an entry of ``hours``."""

    name: str = Field(pattern=_NAME.pattern)
    hours: str
    max_contacts: int | None = Field(default=None, ge=1, le=1000)
    description: str = ""


class PhoneNumber(_Strict):
    """A number to claim. Claimed numbers are kept on destroy unless ``keep_on_destroy`` is false, because a
    released number enters a cooldown of up to 180 days before it can be searched for or claimed again
    (ReleasePhoneNumber, Connect API reference)."""

    country: str = Field(pattern=r"^[A-Z]{2}$")
    type: Literal["DID", "TOLL_FREE"] = "DID"
    prefix: str | None = Field(default=None, pattern=r"^\+[0-9]{1,14}$")
    keep_on_destroy: bool = True

    @field_validator("country")
    @classmethod
    def _a_country_connect_has(cls, value: str) -> str:
        # The countries Connect has numbers in: the PhoneNumberCountryCode enum of the Connect API model (botocore),
        # read only when a number is declared.
        import botocore.session

        shape = botocore.session.get_session().get_service_model("connect").shape_for("PhoneNumberCountryCode")
        known: list[str] = getattr(shape, "enum", [])
        if value not in known:
            raise ValueError(f"{value!r} is not a country Connect has numbers in (ISO 3166 codes such as US, GB, DE)")
        return value


class Instance(_Strict):
    """The Connect instance of the primary region; the DR instance alias defaults to ``<alias>-dr``.

    ``identity_management`` is fixed when the instance is created (Connect admin guide, "Plan your identity
    management in Amazon Connect": it cannot be changed afterwards; CloudFormation replaces the instance).
    ``dr_mode: global-resiliency`` needs ``SAML`` (``Deployment``; docs/identity-provider.md).
    """

    alias: str = Field(min_length=1, max_length=42, pattern=_INSTANCE_ALIAS.pattern)
    identity_management: Literal["CONNECT_MANAGED", "SAML"] = "CONNECT_MANAGED"
    dr_alias: str | None = Field(default=None, min_length=1, max_length=45, pattern=_INSTANCE_ALIAS.pattern)

    @property
    def replica_alias(self) -> str:
        return self.dr_alias or f"{self.alias}-dr"


class Lex(_Strict):
    """Which locales of the bot model in ``lex/bot.yaml`` to deploy."""

    locales: list[str] = Field(min_length=1)
    nlu_confidence_threshold: float = Field(default=0.4, ge=0, le=1)
    idle_session_ttl_seconds: int = Field(default=300, ge=60, le=86400)

    @field_validator("locales")
    @classmethod
    def _locale_ids(cls, value: list[str]) -> list[str]:
        for locale in value:
            if not _LEX_LOCALE.fullmatch(locale):
                raise ValueError(f"{locale!r} is not a Lex locale id such as 'en_US'")
        return value


class LambdaSettings(_Strict):
    """Settings shared by the IVR functions.

    ``timeout_seconds`` must stay below the ``InvocationTimeLimitSeconds`` of every flow block that calls a
    function (at most Connect's 8 s wait), so that the function gives up first; ``ivr synth`` checks it against
    the synthesized flows (``stacks/limits.py``).
    """

    memory_mb: int = Field(default=256, ge=128, le=10240)
    timeout_seconds: int = Field(default=2, ge=1, le=7)
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 180, 365] = 30
    architecture: Literal["arm64", "x86_64"] = "arm64"
    #: Reserved concurrency of each clinic function: at least the provisioned maximum (Lambda refuses provisioned
    #: concurrency above reserved), and the account must keep 100 unreserved (Lambda developer guide).
    reserved_concurrency: int = Field(default=100, ge=1, le=3000)


class PeakWindow(_Window):
    """A time of day when calls peak: provisioned concurrency is raised to ``provisioned_concurrency``."""

    name: str = Field(pattern=_NAME.pattern)
    time_zone: str
    provisioned_concurrency: int = Field(ge=1, le=1000)

    _zone = field_validator("time_zone")(_check_zone)


class Scaling(_Strict):
    """Provisioned concurrency for customer-facing functions: a baseline, peak windows, utilization tracking."""

    baseline_provisioned_concurrency: int = Field(default=1, ge=1, le=1000)
    max_provisioned_concurrency: int = Field(default=50, ge=1, le=3000)
    utilization_target: float = Field(default=0.7, ge=0.1, le=0.9)
    peak_windows: list[PeakWindow] = Field(default_factory=list)

    @property
    def peak_level(self) -> int:
        """The highest minimum the primary asks for: the largest peak window, or the baseline."""
        return max([w.provisioned_concurrency for w in self.peak_windows] + [self.baseline_provisioned_concurrency])

    @model_validator(mode="after")
    def _bounds(self) -> Scaling:
        if self.baseline_provisioned_concurrency > self.max_provisioned_concurrency:
            raise ValueError("baseline_provisioned_concurrency is above max_provisioned_concurrency")
        for window in self.peak_windows:
            if window.provisioned_concurrency > self.max_provisioned_concurrency:
                raise ValueError(
                    f"peak window {window.name!r} asks for {window.provisioned_concurrency}, "
                    f"above max_provisioned_concurrency {self.max_provisioned_concurrency}"
                )
        names = [w.name for w in self.peak_windows]
        if len(set(names)) != len(names):
            raise ValueError("peak window names must be unique")
        for index, first in enumerate(self.peak_windows):
            for second in self.peak_windows[index + 1 :]:
                if clash := _windows_clash(first, second):
                    raise ValueError(clash)
        return self


#: Two reference weeks, one in winter and one in summer, so that windows in zones with different daylight-saving
#: rules are compared in both states. Each starts on a Monday.
_REFERENCE_MONDAYS = (date(2026, 1, 12), date(2026, 7, 13))


def _utc_spans(window: PeakWindow, monday: date) -> list[tuple[datetime, datetime, str]]:
    zone = ZoneInfo(window.time_zone)
    spans: list[tuple[datetime, datetime, str]] = []
    for day in window.days:
        local_day = monday + timedelta(days=DAYS.index(day))
        start = datetime.combine(local_day, window.start, zone).astimezone(UTC)
        end = datetime.combine(local_day, window.end, zone).astimezone(UTC)
        spans.append((start, end, day))
    return spans


def _windows_clash(first: PeakWindow, second: PeakWindow) -> str | None:
    """Why two peak windows cannot both be scheduled, or None.

    Each window is two scheduled actions on every function's scalable target: at its start the minimum goes up
    to the window's level, at its end back down to the baseline. If windows overlap, the first window's end lowers
    the minimum while the second is still on, silently dropping capacity mid-peak. If one ends at the minute the
    other starts, both actions fire at once and Application Auto Scaling does not order them. Either way the
    fix is one window (the larger level) or a gap.
    """
    for monday in _REFERENCE_MONDAYS:
        for a_start, a_end, a_day in _utc_spans(first, monday):
            # The week wraps: a Sunday night in one zone can be a Monday morning in another.
            shifted = [(s + timedelta(weeks=w), e + timedelta(weeks=w), d)
                       for s, e, d in _utc_spans(second, monday) for w in (-1, 0, 1)]  # fmt: skip
            for b_start, b_end, b_day in shifted:
                if a_start < b_end and b_start < a_end:
                    problem = "overlap"
                elif a_end == b_start or b_end == a_start:
                    problem = "touch (one ends at the minute the other starts, so their scheduled actions race)"
                else:
                    continue
                return (
                    f"peak windows {first.name!r} ({a_day} {first.start:%H:%M}-{first.end:%H:%M} {first.time_zone}) "
                    f"and {second.name!r} ({b_day} {second.start:%H:%M}-{second.end:%H:%M} {second.time_zone}) "
                    f"{problem}: the end of one would set provisioned concurrency back to the baseline while the "
                    "other is still on. Merge them into one window with the larger provisioned_concurrency, or "
                    "leave a gap between them"
                )
    return None


class DrStandby(_Strict):
    """Capacity the DR region keeps while it is not taking calls; failover raises it to the peak level."""

    provisioned_concurrency: int = Field(default=1, ge=1, le=1000)


class Alarms(_Strict):
    """Alarm thresholds and where notifications go."""

    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    lambda_duration_ms: int = Field(default=1500, ge=100, le=7000)
    lambda_errors: int = Field(default=1, ge=1)
    lambda_throttles: int = Field(default=1, ge=1)
    concurrent_calls_percent: int = Field(default=80, ge=1, le=100)
    flow_errors: int = Field(default=5, ge=1)
    lex_missed_utterances: int = Field(default=20, ge=1)


class Agents(_Strict):
    """Which agents follow the calls between regions.

    Connect distributes agents (UpdateTrafficDistribution's AgentConfig) only among the users associated with the
    traffic distribution group, and SignInConfig is accepted only on the default group, which the kit does not use
    (Connect admin guide, "Associate agents to Amazon Connect instances across multiple AWS Regions"; the
    UpdateTrafficDistribution API reference). Failover therefore associates these users with the kit's group
    before it moves calls. Empty ``routing_profiles`` and ``users`` mean every user of the instance; ``required``
    false allows a failover with no agent at all (an IVR that never queues to people).

    ``drain_seconds``: before the agents move, failover sets their status to Offline in the region the calls
    leave (Connect routes them nothing new; a call they are on goes on: PutUserStatus sets the *next* status of
    an agent on a contact) and waits up to this long for their calls to end; 0 moves them at once.
    """

    routing_profiles: list[str] = Field(default_factory=list, description="Routing profile names")
    users: list[str] = Field(default_factory=list, description="Usernames")
    required: bool = True
    drain_seconds: int = Field(default=180, ge=0, le=1800)


class Canaries(_Strict):
    """The region's Connect test cases run on a schedule, proving between drills that each region answers.

    EventBridge Scheduler starts a function every ``every_minutes`` that runs the instance's PUBLISHED test cases
    (in a Global Resiliency replica, the ones Connect mirrored from the source) and publishes passed / failed /
    duration as metrics; an alarm fires on a failure, or when no run reported for two periods. Each run is a
    test call per test case: leave it off where that cost is not wanted. Unset ``enabled``: on for the
    ``production`` data profile, off for ``dev``.
    """

    enabled: bool | None = None
    #: A run lasts at most the function's 15 minutes (Lambda quota), so runs never overlap at 15 or more. The
    #: alarm looks at two periods, and a CloudWatch alarm's period times evaluation periods is at most one day
    #: (CloudWatch user guide, "Using Amazon CloudWatch alarms"): 720 at most.
    every_minutes: int = Field(default=60, ge=15, le=720)


class Chaos(_Strict):
    """Chaos drills: a Fault Injection Service experiment that fails some of the functions' invocations.

    Enabling it adds the AWS FIS Lambda extension layer to the functions (it reads fault configurations from a
    bucket prefix; without a running experiment it passes invocations through).
    """

    enabled: bool = False
    invocation_percent: int = Field(default=50, ge=1, le=100)
    duration_minutes: int = Field(default=5, ge=1, le=60)
    #: The waited-on functions (flow-invoked, with a ``duration`` alarm) the latency experiment slows down, by key
    #: of the function registry. Each one's duration alarm is a stop condition of the experiment's template, and
    #: FIS holds a template to FIS_STOP_CONDITIONS of them; empty: the first ones in the registry's order.
    latency_targets: list[str] = Field(default_factory=list, max_length=FIS_STOP_CONDITIONS)


#: An IAM user or role ARN, as aws:approve's Approvers take them (SSM user guide, "aws:approve - Pause an
#: automation for manual approval": IAM users, roles, or IAM Identity Center users). The kit takes ARNs only, so
#: that a typo is caught here rather than when the approval step first waits.
_APPROVER = r"^arn:aws[a-z-]*:iam::\d{12}:(user|role)/[\w+=,.@/-]{1,512}$"


class Approval(_Strict):
    """A person says yes before an automatic failover moves calls: the automation's first step is ``aws:approve``.

    SSM user guide, "aws:approve": the step waits for ``minimum`` approvals from ``approvers`` (at most 10
    principals) and rejects on ``timeout_minutes`` (its timeoutSeconds; default 7 days, at most 30 days); a
    rejection or a timeout ends the automation, so nothing moves.
    """

    approvers: list[str] = Field(min_length=1, max_length=10)
    minimum: int = Field(default=1, ge=1, le=10)
    timeout_minutes: int = Field(default=30, ge=1, le=43200)

    @field_validator("approvers")
    @classmethod
    def _arns(cls, value: list[str]) -> list[str]:
        for arn in value:
            if not re.fullmatch(_APPROVER, arn):
                raise ValueError(f"{arn!r} is not an IAM user or role ARN (arn:aws:iam::<account>:role/<name>)")
        if len(set(value)) != len(value):
            raise ValueError("an approver is listed twice")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> Approval:
        if self.minimum > len(self.approvers):
            raise ValueError(
                f"minimum {self.minimum} is more than the {len(self.approvers)} approver(s) listed: the approval "
                "could never be given"
            )
        return self


class Failover(_Strict):
    """Opt-in automatic failover (docs/self-healing-dr.md, "Automatic failover"); off unless ``automatic: true``.

    The primary's health is a composite alarm in the primary region; a probe in the DR region reads it every
    minute and publishes "primary healthy" (1/0; a primary whose CloudWatch and Connect both do not answer counts
    0; nothing when it cannot tell); ``unhealthy_minutes`` (at least 2) of the last ``evaluation_minutes`` at 0
    put a DR-region alarm in ALARM (missing readings do not count), and a guard in the DR region starts the
    one-way failover automation unless a guard says no: ``cooldown_minutes`` since the last failover to the DR
    region (automatic, drill or ``ivr failover``), at most one automatic failover per ``window_hours``, an
    operator holding the failover lock, the DR region's canary not OK, or the DR region already taking the calls.
    It never fails back.
    """

    automatic: bool = False
    #: Since the last failover to the DR region, whoever made it: a region that flaps is not moved twice.
    cooldown_minutes: int = Field(default=60, ge=15, le=10080)
    #: At most one automatic failover per this many hours (a rolling window).
    window_hours: int = Field(default=24, ge=1, le=720)
    #: How many one-minute readings out of ``evaluation_minutes`` must say "unhealthy" (CloudWatch "M out of N":
    #: DatapointsToAlarm <= EvaluationPeriods; CloudWatch user guide, "Evaluating an alarm"). At least 2: one bad
    #: reading (one probe run that met a network blip) must never fail over.
    unhealthy_minutes: int = Field(default=3, ge=2, le=60)
    evaluation_minutes: int = Field(default=5, ge=1, le=60)
    approval: Approval | None = None

    @model_validator(mode="after")
    def _m_of_n(self) -> Failover:
        if self.unhealthy_minutes > self.evaluation_minutes:
            raise ValueError(
                f"unhealthy_minutes {self.unhealthy_minutes} is more than evaluation_minutes "
                f"{self.evaluation_minutes}: CloudWatch's DatapointsToAlarm cannot exceed EvaluationPeriods"
            )
        if self.cooldown_minutes > self.window_hours * 60:
            raise ValueError(
                f"cooldown_minutes {self.cooldown_minutes} is longer than window_hours {self.window_hours}: the "
                "window would never be the guard that stops a second failover; lengthen window_hours"
            )
        return self


#: Values that are personal whatever their name: the caller's number, what callers say to the bot.
SensitiveSource = Literal["CustomerEndpoint.Address", "Lex.Slots"]

#: Recordings kept by profile, in days: production six years (the period HIPAA sets for keeping its required
#: documentation, 45 CFR 164.316(b)(2)(i), as a starting point: your records policy decides), dev 30 days.
RECORDINGS_KEPT_DAYS: dict[str, int] = {"production": 2190, "dev": 30}
#: Recordings archived by profile: production after 90 days (Glacier Instant Retrieval bills 90 days at least,
#: S3 user guide, "Amazon S3 storage classes"), dev never.
RECORDINGS_ARCHIVE_DAYS: dict[str, int] = {"production": 90, "dev": 0}
#: The minimum storage duration S3 Glacier Instant Retrieval bills (S3 user guide, storage classes).
GLACIER_IR_MINIMUM_DAYS = 90


class DataProtection(_Strict):
    """How the deployment keeps patient data: which fields are sensitive, and how safe the stores are.

    ``profile: production`` (the default) keeps the stores of patient data and audit on destroy (the table with
    deletion protection, its backups, the recordings, the flow logs) and backs the table up with AWS Backup.
    ``profile: dev`` is for samples and test accounts: every store is deleted with its stack and nothing is
    backed up. Choose it explicitly; it is never the default.

    ``sensitive_fields`` are the names of patient data as they appear in flows (contact attributes, ``$.External``
    results, Lex session attributes) and in the functions' answers. Flow logging must be off wherever a flow
    touches one, and the functions must not record their answers in traces (checked at synth).
    """

    profile: Literal["production", "dev"] = "production"
    sensitive_fields: list[str] = Field(default_factory=lambda: ["patientId", "firstName"])
    #: Which incarnation of the deployment's named stores this is. A production teardown keeps the appointments
    #: table, the recordings buckets and the backup vault under their names, so deploying the same ``name``
    #: again would collide with them; generation 2 and above gives the new stores names of their own
    #: (``-g<n>``) and leaves the kept ones as they are (docs/teardown.md). Generation 1 is the names as they
    #: always were: changing it on a live deployment replaces its stores.
    generation: int = Field(default=1, ge=1, le=99)
    backup_retention_days: int = Field(default=35, ge=7, le=3650)
    flow_log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 180, 365, 731, 1827, 3653] = 90
    #: Values that are patient data whatever their name: the caller's number (``$.CustomerEndpoint.Address``) and
    #: what callers say to the bot (``$.Lex.Slots``). The privacy guard follows them, and the fields above, through
    #: the flows to every sink (flowkit/language/privacy.py).
    sensitive_sources: list[SensitiveSource] = Field(default_factory=lambda: list(get_args(SensitiveSource)))
    #: Prompt blocks allowed to speak a sensitive value back to the caller, as ``flow/BlockIdentifier`` (a greeting
    #: by first name): any other prompt that would is refused at synth.
    speak_back: list[str] = Field(default_factory=list)
    #: Functions allowed to receive a sensitive value from a flow: as a Lambda parameter, or as a Lex session
    #: attribute for the bot's code hook. Any other is refused at synth.
    sensitive_receivers: list[str] = Field(default_factory=list)
    #: Days a call recording or chat transcript is kept before S3 expires it; unset takes the profile's
    #: (``RECORDINGS_KEPT_DAYS``). An S3 lifecycle rule on each region's recordings bucket (S3 user guide,
    #: "Managing the lifecycle of objects").
    recordings_expire_days: int | None = Field(default=None, ge=1, le=36500)
    #: Days after which recordings move to S3 Glacier Instant Retrieval (still playable at once, cheaper to keep);
    #: unset takes the profile's (``RECORDINGS_ARCHIVE_DAYS``), 0 keeps them in S3 Standard.
    recordings_archive_days: int | None = Field(default=None, ge=0, le=36500)

    @field_validator("sensitive_fields")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", name):
                raise ValueError(f"{name!r} is not an attribute name (letters, digits, '_')")
        return value

    @field_validator("speak_back")
    @classmethod
    def _blocks(cls, value: list[str]) -> list[str]:
        for mark in value:
            if not re.fullmatch(r"[^/\s]+/[^/\s]+", mark):
                raise ValueError(f"{mark!r} is not flow/BlockIdentifier (for example inbound-menu/AskBot)")
        return value

    @model_validator(mode="after")
    def _something_protected(self) -> DataProtection:
        # An empty list checks nothing: flows could log patient data and functions trace it unseen.
        if self.profile == "production" and not self.sensitive_fields:
            raise ValueError(
                "sensitive_fields is empty, so no flow log or trace is checked for patient data; name the fields "
                "your flows and functions carry (for example [patientId, firstName]), or use profile: dev for a "
                "deployment that holds none"
            )
        return self

    @model_validator(mode="after")
    def _archive_before_expiry(self) -> DataProtection:
        # Both actions count days from the object's creation (S3 user guide, "Managing the lifecycle of objects"):
        # an archive day on or after the expiry day never archives anything. Any archive day is valid for
        # GLACIER_IR (S3 API reference, Transition: "0 or positive integers"), so no other floor applies.
        archive, expire = self.recordings_archive_after, self.recordings_kept_days
        if archive and archive >= expire:
            raise ValueError(
                f"recordings are archived after {archive} days (recordings_archive_days, or the {self.profile} "
                f"profile's) but kept only {expire} (recordings_expire_days): they would expire before they are "
                "archived; keep them longer or set recordings_archive_days: 0"
            )
        return self

    @property
    def recordings_kept_days(self) -> int:
        """Days a recording is kept: the deployment's, else the profile's."""
        return self.recordings_expire_days or RECORDINGS_KEPT_DAYS[self.profile]

    @property
    def recordings_archive_after(self) -> int:
        """Days before a recording moves to Glacier Instant Retrieval; 0 for never."""
        chosen = self.recordings_archive_days
        return RECORDINGS_ARCHIVE_DAYS[self.profile] if chosen is None else chosen

    @property
    def recordings_archive_warning(self) -> str | None:
        """Why the recordings' archive day costs more than it saves, or None.

        S3 Glacier Instant Retrieval bills a minimum storage duration of 90 days: an object deleted sooner is
        charged for the remaining days (S3 user guide, "Understanding and managing Amazon S3 storage classes",
        S3 Glacier Instant Retrieval). Legal, so a warning, not a refusal.
        """
        archive, expire = self.recordings_archive_after, self.recordings_kept_days
        if not archive or archive >= expire or expire - archive >= GLACIER_IR_MINIMUM_DAYS:
            return None
        return (
            f"recordings move to Glacier Instant Retrieval after {archive} days and expire after {expire}: "
            f"{expire - archive} days there, but that class bills at least {GLACIER_IR_MINIMUM_DAYS} days per "
            "object; keep them longer, archive earlier, or set recordings_archive_days: 0"
        )

    @property
    def keeps_data(self) -> bool:
        """Whether stores of patient data and audit outlive ``cdk destroy``."""
        return self.profile == "production"

    @property
    def store_suffix(self) -> str:
        """What the named stores of this generation carry after their base name: nothing for generation 1."""
        return "" if self.generation == 1 else f"-g{self.generation}"


class FlowTestSettings(_Strict):
    """Amazon Connect native flow test cases compiled from the call scenarios (``ivr test``; docs/flows.md, "Test calls
    on AWS"). Settings marked unconfirmed follow what the AWS docs say; change them if Connect disagrees.
    """

    #: Deploy the test cases in their own stack per region (``<name>-<role>-tests``), off the IVR's deploy path.
    deploy: bool = True
    #: ``ivr failover`` and the failover drill run the target region's test cases as their last verification.
    after_failover: bool = True
    #: Testing-language Version. Unconfirmed: the Developer Guide says 2019-10-30, an API example 2025-06-21.
    version: Literal["2019-10-30", "2025-06-21"] = "2019-10-30"
    #: Only PUBLISHED test cases are validated by Connect and can run.
    status: Literal["PUBLISHED", "SAVED"] = "PUBLISHED"
    #: Emit ``Usage {"Type": "Exactly", "Times": 1}`` on observations (documented; third parties omit it).
    usage: bool = True
    #: ``mock``: the scenario's time becomes a CheckHoursOfOperation MockResponse (InHours/OutOfHours, documented;
    #: unconfirmed at run time); ``live``: the region's real clock decides.
    hours: Literal["mock", "live"] = "mock"
    #: ``recorded``: every flow Lambda call is mocked with the response it gave offline (a test call has no
    #: caller number of the scenario's patient); ``live``: only the scenario's mapped or failing functions are.
    functions: Literal["recorded", "live"] = "recorded"
    #: How long ``ivr test`` polls one run; Connect ends a run after 5 minutes.
    timeout_seconds: int = Field(default=360, ge=30, le=1800)
    #: Runs started at once; Connect runs at most 5 per instance and queues the rest.
    concurrency: int = Field(default=5, ge=1, le=5)


class FlowLayout(_Strict):
    """How the flows and modules are laid out in CloudFormation (``flowkit/language/layout.py``).

    One template holds at most 1 MB and 500 resources (CloudFormation quotas), and a real contact center's flow
    content is many megabytes: the flows go into nested stacks, one per reference level (a flow's level is above
    every flow or module it references) and group (a hash of the name). Each flow's nested stack is recorded in
    ``connect/flows/LAYOUT.yaml`` and never changes, so this setting only spreads flows not yet recorded.
    """

    #: Nested stacks per level for new flows. 8 holds about 300 flows of 20-40 KB each (console exports) within 1 MB
    #: a template; raise it when synth says a nested stack is full (recorded flows stay where they are).
    groups_per_level: int = Field(default=8, ge=1, le=64)


class Deployment(_Strict):
    """A whole deployment: the primary region, its DR region and everything both deploy."""

    name: str = Field(pattern=_NAME.pattern, description="Prefix of stacks and of names shared across regions")
    account: str = Field(pattern=r"^\d{12}$")
    primary_region: str = Field(pattern=_REGION.pattern)
    dr_region: str = Field(pattern=_REGION.pattern)
    dr_mode: DrMode = Field(
        default="global-resiliency",
        description="global-resiliency (Connect Global Resiliency, the AWS-supported way) or standalone",
    )
    instance: Instance
    hours: list[HoursOfOperation] = Field(min_length=1)
    queues: list[Queue] = Field(min_length=1)
    phone_numbers: list[PhoneNumber] = Field(default_factory=list)
    lex: Lex
    lambdas: LambdaSettings = Field(default_factory=LambdaSettings)
    scaling: Scaling = Field(default_factory=Scaling)
    dr_standby: DrStandby = Field(default_factory=DrStandby)
    alarms: Alarms = Field(default_factory=Alarms)
    agents: Agents = Field(default_factory=Agents)
    chaos: Chaos = Field(default_factory=Chaos)
    canaries: Canaries = Field(default_factory=Canaries)
    failover: Failover = Field(default_factory=Failover)
    test_cases: FlowTestSettings = Field(default_factory=FlowTestSettings)
    flows: FlowLayout = Field(default_factory=FlowLayout)
    data: DataProtection = Field(default_factory=DataProtection)
    tags: dict[str, str] = Field(default_factory=dict)
    #: Agents and what they need (``regions/staff.py``). In the file, a mapping or the path of a YAML file that holds
    #: it (relative to the kit's folder, like ``connect/staff.yaml``): ``load_deployment`` reads the file.
    staff: Staff = Field(default_factory=Staff)
    #: Connect per-instance quotas this account has had raised, by name (regions/quotas.py lists them with their
    #: defaults and Service Quotas codes): synth checks what the deployment declares against these.
    quotas: dict[str, StrictInt] = Field(default_factory=dict)
    #: The environment of the file these settings are (``environments:``, regions/environments.py), set by the
    #: loader from ``--env``; None for the file's top level.
    environment: str | None = None
    #: The file's environments, by name: what ``--env`` may choose. The loader checks and applies the file's
    #: ``environments:`` mapping (regions/environments.py); validated directly, the mapping gives its names.
    environments: tuple[str, ...] = ()

    @field_validator("environments", mode="before")
    @classmethod
    def _environment_names(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, dict) else value

    #: The function registry (regions/functions.py): the kit's own unless the deployment brings its functions.
    #: A relative path is read from the kit's folder.
    functions_file: Path = FUNCTIONS_FILE

    @field_validator("functions_file")
    @classmethod
    def _readable_registry(cls, value: Path) -> Path:
        path = value if value.is_absolute() else FUNCTIONS_FILE.parent.parent / value
        try:
            load_functions(path.resolve())
        except FunctionRegistryError as exc:
            raise ValueError(f"the function registry cannot be used:\n{exc}") from None
        return path.resolve()

    @field_validator("staff", mode="before")
    @classmethod
    def _staff_file(cls, value: Any) -> Any:
        """``staff: PATH`` read here when the data did not come through ``load_deployment`` (which reads the file
        first, so that its errors name the staff file)."""
        if not isinstance(value, str):
            return value
        try:
            return _staff_content(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("quotas")
    @classmethod
    def _known_quotas(cls, value: dict[str, int]) -> dict[str, int]:
        for name, allowed in value.items():
            if name not in QUOTAS_BY_NAME:
                raise ValueError(f"{name!r} is not a Connect quota the kit checks; known: {', '.join(QUOTAS_BY_NAME)}")
            if allowed < 1:
                raise ValueError(f"{name} is {allowed}: a quota is a positive number of resources per instance")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Deployment:
        if self.primary_region == self.dr_region:
            raise ValueError("dr_region must differ from primary_region")
        hour_names = [h.name for h in self.hours]
        if len(set(hour_names)) != len(hour_names):
            raise ValueError("hours: names must be unique")
        queue_names = [q.name for q in self.queues]
        if len(set(queue_names)) != len(queue_names):
            raise ValueError("queues: names must be unique")
        for queue in self.queues:
            if queue.hours not in hour_names:
                raise ValueError(f"queue {queue.name!r} names hours {queue.hours!r}; known: {hour_names}")
        if not self.staff.routing_profiles and len(self.queues) > MAX_PROFILE_QUEUES:
            # The kit's front-desk profile takes every queue, and a routing profile is created with at most
            # MAX_PROFILE_QUEUES queue entries (CreateRoutingProfile QueueConfigs; regions/staff.py).
            raise ValueError(
                f"queues: {len(self.queues)} queues, and without staff routing profiles the kit's "
                f"{self.default_routing_profile} profile takes every one, but Connect creates a routing profile "
                f"with at most {MAX_PROFILE_QUEUES}; declare routing_profiles: in the staff file, each with at most "
                f"{MAX_PROFILE_QUEUES} queues"
            )
        if self.alarms.lambda_duration_ms >= self.lambdas.timeout_seconds * 1000:
            raise ValueError(
                f"alarms.lambda_duration_ms ({self.alarms.lambda_duration_ms}) must be below "
                f"lambdas.timeout_seconds ({self.lambdas.timeout_seconds} s): the alarm must fire before calls fail"
            )
        if self.dr_standby.provisioned_concurrency > self.scaling.max_provisioned_concurrency:
            raise ValueError("dr_standby.provisioned_concurrency is above scaling.max_provisioned_concurrency")
        if self.chaos.latency_targets:
            waited = [e.key for e in self.functions.waited_on]
            for key in self.chaos.latency_targets:
                if key not in waited:
                    raise ValueError(
                        f"chaos.latency_targets: {key!r} is not a function callers wait on (flow-invoked, with a "
                        f"duration alarm, in {self.functions_file}); those are: {', '.join(waited) or 'none'}"
                    )
        return self

    @property
    def latency_targets(self) -> list[str]:
        """The functions the latency experiment slows down: ``chaos.latency_targets``, or the first waited-on
        functions of the registry, at most :data:`FIS_STOP_CONDITIONS` (each adds its alarm as a stop condition)."""
        if self.chaos.latency_targets:
            return list(self.chaos.latency_targets)
        return [e.key for e in self.functions.waited_on][:FIS_STOP_CONDITIONS]

    @property
    def routing_profiles(self) -> list[RoutingProfile]:
        """The routing profiles the stacks create: the staff's, or, when it declares none, the kit's
        ``<name>-front-desk`` profile (every queue, voice, one call at a time), as deployments always had."""
        if self.staff.routing_profiles:
            return list(self.staff.routing_profiles)
        return [
            RoutingProfile(
                name=self.default_routing_profile,
                description="Front-desk staff: voice, one call at a time",
                queues=[ProfileQueue(queue=q.name) for q in self.queues],
            )
        ]

    @property
    def default_routing_profile(self) -> str:
        """The name of the routing profile a deployment without staff routing profiles gets."""
        return f"{self.name}-front-desk"

    @model_validator(mode="after")
    def _global_resiliency_prerequisites(self) -> Deployment:
        """What Connect Global Resiliency asks before ReplicateInstance: a supported pair (with Lex bot
        replication), a SAML instance, and numbers that leave the one traffic distribution group together."""
        if self.dr_mode != "global-resiliency":
            return self
        if (self.primary_region, self.dr_region) not in GLOBAL_RESILIENCY_PAIRS:
            pairs = ", ".join(f"{a} -> {b}" for a, b in GLOBAL_RESILIENCY_PAIRS)
            raise ValueError(
                f"dr_mode global-resiliency does not support {self.primary_region} -> {self.dr_region}; "
                f"supported pairs: {pairs}. Use dr_mode: standalone for any other pair."
            )
        # Connect admin guide, "Create a replica of your existing instance", "Why a ReplicateInstance call fails":
        # "A ReplicateInstance API call fails with an InvalidRequestException in the following cases: [...] The
        # instance does not have SAML enabled." And "Plan your identity management": "You cannot change the
        # option you select for identity management after you create an instance."
        if self.instance.identity_management != "SAML":
            _refuse_field(
                ("instance", "identity_management"),
                self.instance.identity_management,
                f"dr_mode global-resiliency needs identity_management: SAML, not "
                f"{self.instance.identity_management}: Amazon Connect refuses ReplicateInstance for an instance "
                "that does not have SAML enabled (Connect admin guide, 'Create a replica of your existing "
                "instance', 'Why a ReplicateInstance call fails'), and the identity management of an instance "
                "cannot change once it exists. Set identity_management: SAML and wire your identity provider "
                "(docs/identity-provider.md), or use dr_mode: standalone",
            )
        if frozenset({self.primary_region, self.dr_region}) not in LEX_REPLICATION_PAIRS:
            raise ValueError(
                f"dr_mode global-resiliency needs Lex bot replication between {self.primary_region} and "
                f"{self.dr_region}, which Lex Global Resiliency does not offer (it pairs us-east-1/us-west-2 "
                "and eu-west-2/eu-central-1). Use dr_mode: standalone for this pair."
            )
        kept = {n.keep_on_destroy for n in self.phone_numbers}
        if len(kept) > 1:
            # Source: DeleteTrafficDistributionGroup fails with ResourceInUseException while numbers are
            # claimed to the group; all numbers share the one group, so they are kept or released together.
            raise ValueError(
                "phone_numbers: in global-resiliency mode every number is claimed to the one traffic "
                "distribution group, which cannot be deleted while it holds numbers; set keep_on_destroy "
                "the same (true or false) on every number"
            )
        return self

    @model_validator(mode="after")
    def _automatic_failover_can_work(self) -> Deployment:
        """Automatic failover moves calls with the traffic distribution group, and watches the canary."""
        if not self.failover.automatic:
            return self
        if self.dr_mode == "standalone":
            # Callers dial each region's own numbers in standalone mode; nothing in AWS moves them (a carrier or
            # a published number change does, runbooks/failover.md). Connect's UpdateTrafficDistribution, which
            # the failover automation calls, needs a traffic distribution group: Global Resiliency only (Connect
            # admin guide, "Set up Amazon Connect Global Resiliency").
            _refuse_field(
                ("failover", "automatic"),
                True,
                "automatic failover needs dr_mode: global-resiliency: in standalone mode callers dial each "
                "region's numbers and no API can move them, so an automatic failover could only raise capacity. "
                "Use `ivr failover` and runbooks/failover.md, or set automatic: false",
            )
        if not self.canaries_on:
            # Without the canary a primary whose calls fail before any flow or function runs raises no error
            # metric: the composite alarm would stay OK while no caller gets through.
            _refuse_field(
                ("failover", "automatic"),
                True,
                "automatic failover watches the primary's canary (test calls), the only signal that sees calls "
                "that never reach a flow: set canaries.enabled: true (or use data.profile: production)",
            )
        return self

    @model_validator(mode="after")
    def _fits_the_services(self) -> Deployment:
        for region in (self.primary_region, self.dr_region):
            if len(self.recordings_bucket(region)) > 63:
                raise ValueError(
                    f"name {self.name!r} is too long: the recordings bucket {self.recordings_bucket(region)!r} "
                    "would exceed S3's 63 characters; shorten the name"
                )
        if self.lambdas.reserved_concurrency < self.scaling.max_provisioned_concurrency:
            raise ValueError(
                f"lambdas.reserved_concurrency {self.lambdas.reserved_concurrency} is below "
                f"scaling.max_provisioned_concurrency {self.scaling.max_provisioned_concurrency}: Lambda allocates "
                "provisioned concurrency only within a function's reserved concurrency"
            )
        return self

    @model_validator(mode="after")
    def _staff_references(self) -> Deployment:
        """Every name the staff gives points at something the stacks create (first error, at its field)."""
        profiles = [p.name for p in self.routing_profiles]
        for loc, value, message in self.staff.reference_errors([q.name for q in self.queues], profiles):
            _refuse_field(("staff", *loc), value, message)
        if self.staff.users and self.instance.identity_management != "SAML":
            # AWS::Connect::User Password: "required if you are using Amazon Connect for identity management";
            # the kit never holds a password, so it creates users only where the identity provider signs them in.
            _refuse_field(
                ("staff", "users"),
                len(self.staff.users),
                "users need instance.identity_management: SAML: a CONNECT_MANAGED user needs a password, which "
                "never goes in config; create those users in the Connect admin website, or use SAML",
            )
        return self

    def recordings_bucket(self, region: str) -> str:
        """The recordings bucket's name in a region: fixed, because the DR stack names the primary's bucket as
        its replication source (S3 bucket names: 3-63 lowercase letters, digits, hyphens). A later generation of
        the stores (``data.generation``) has its own name, so that it does not collide with a kept bucket."""
        return f"{self.name}-rec{self.data.store_suffix}-{self.account}-{region}"

    @property
    def table_name(self) -> str:
        """The appointments table, the same name in both regions (the DR stack finds the global table's replica
        by it); a later generation of the stores has its own name beside a kept table."""
        return f"{self.name}-appointments{self.data.store_suffix}"

    @property
    def backup_vault_name(self) -> str | None:
        """The table's AWS Backup vault name: None (CDK's generated name, as generation 1 always had) or, for a
        later generation, a name of its own (a kept vault keeps the generated one; AWS Backup vault names: 2-50
        letters, digits, hyphens, underscores)."""
        return None if self.data.generation == 1 else f"{self.name}-appointments{self.data.store_suffix}"

    @property
    def recordings_key_alias(self) -> str:
        """The alias of each region's recordings key: the other region names it as a replication destination
        (S3 ReplicaKmsKeyID takes a key ARN or an alias ARN, resolved in this account)."""
        return f"alias/{self.name}-recordings"

    def function_name(self, key: str) -> str:
        """The same in both regions, as Connect Global Resiliency asks of flow-invoked functions."""
        return f"{self.name}-{key}"

    @property
    def keeps_numbers(self) -> bool:
        """Teardown keeps at least one claimed number (and, in global-resiliency mode, what holds it)."""
        return any(n.keep_on_destroy for n in self.phone_numbers)

    @property
    def functions(self) -> FunctionRegistry:
        """The deployment's functions (``functions_file``), checked when the deployment was loaded."""
        return load_functions(self.functions_file)

    @property
    def canaries_on(self) -> bool:
        """Whether the canaries deploy: ``canaries.enabled``, or when unset, a ``production`` data profile."""
        enabled = self.canaries.enabled
        return self.data.profile == "production" if enabled is None else enabled

    @property
    def function_names(self) -> list[str]:
        return [self.function_name(key) for key in self.functions.keys]

    def region(self, role: Role) -> RegionSettings:
        """The settings one regional stack is built from."""
        primary = role == "primary"
        return RegionSettings(
            deployment=self,
            role=role,
            region=self.primary_region if primary else self.dr_region,
            peer_region=self.dr_region if primary else self.primary_region,
        )


class RegionSettings(BaseModel):
    """One region's view of a deployment: the data that makes the DR stack differ from the primary."""

    model_config = ConfigDict(frozen=True)

    deployment: Deployment
    role: Role
    region: str
    peer_region: str

    @property
    def is_primary(self) -> bool:
        return self.role == "primary"

    @property
    def creates_instance(self) -> bool:
        """The DR region gets its instance from replication in global-resiliency mode."""
        return self.is_primary or self.deployment.dr_mode == "standalone"

    @property
    def owns_flows(self) -> bool:
        """The stack deploys the flows, the bot and the numbers.

        In global-resiliency mode only the primary does: Connect mirrors its flows and their number associations
        to the replica, and Lex replicates its bot (Connect admin guide, "Create a replica of your existing
        Amazon Connect instance"; "Assign phone numbers to traffic distribution groups").
        """
        return self.is_primary or self.deployment.dr_mode == "standalone"

    @property
    def instance_alias(self) -> str:
        inst = self.deployment.instance
        return inst.alias if self.is_primary else inst.replica_alias

    @property
    def stack_name(self) -> str:
        return f"{self.deployment.name}-{self.role}"

    @property
    def baseline_concurrency(self) -> int:
        d = self.deployment
        return d.scaling.baseline_provisioned_concurrency if self.is_primary else d.dr_standby.provisioned_concurrency

    def peak_concurrency(self, window: PeakWindow) -> int:
        """The primary scales to the window's level; the DR region holds its standby level until failover."""
        if self.is_primary:
            return window.provisioned_concurrency
        return self.deployment.dr_standby.provisioned_concurrency


def _refuse_field(loc: tuple[str | int, ...], value: Any, message: str) -> None:
    """Fail a model-level rule at the field it is about, so that the error names that field, not the top level."""
    error = InitErrorDetails(type=PydanticCustomError("deployment_rule", message), loc=loc, input=value)
    raise ValidationError.from_exception_data("Deployment", [error])


def _format_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error on one line (its own spans three, the last one naming an "<unicode string>"): where, then what."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    what = ": ".join(str(p) for p in parts if p) or str(exc)
    return where + " ".join(what.split())


def load_deployment(path: str | Path, env: str | None = None) -> Deployment:
    """Read and validate one deployment file, as environment ``env`` sees it (None: the file's top level).

    Every environment of the file is validated whichever is chosen, and so is how they share accounts
    (regions/environments.py): a mistake in prod's settings stops a dev deploy too.

    Raises
    ------
    ConfigError
        The file is missing, is not YAML, or breaks the schema; the message names the file and each field. An
        unknown ``env`` is refused with the environments the file declares.
    """
    file = Path(path)
    try:
        raw = load_yaml(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: deployment file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{file}: is a folder; give the deployment file (for example regions/clinic.yaml)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start}); save the deployment file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping of settings at the top level")
    if "environment" in raw:
        raise ConfigError(f"{file}: environment: is chosen with --env (or -c env=, IVR_ENV), not written in the file")
    staff_file = _read_staff(file, raw)
    try:
        entries = environment_entries(raw, frozenset(Deployment.model_fields))
    except EnvironmentEntryError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    if env is not None and env not in entries:
        known = ", ".join(entries) if entries else "none (the file has no environments: mapping)"
        raise ConfigError(f"{file}: no environment {env!r}; known: {known}")
    names = tuple(entries)
    top = {k: v for k, v in raw.items() if k != "environments"}
    chosen = _validated(file, {**top, "environments": names}, None, {}, staff_file)
    every: dict[str | None, Deployment] = {None: chosen}
    for name, entry in entries.items():
        settings = {**environment_settings(raw, name, entry), "environment": name, "environments": names}
        every[name] = _validated(file, settings, name, entry, staff_file)
    problems = sharing_problems(
        {key: (d.account, d.name, (d.instance.alias, d.instance.replica_alias)) for key, d in every.items()}
    )
    if problems:
        raise ConfigError("\n".join(f"{file}: {problem}" for problem in problems))
    return every[env]


def _validated(
    file: Path, settings: dict[str, Any], env: str | None, entry: dict[str, Any], staff_file: Path | None
) -> Deployment:
    """``settings`` as a Deployment; an error names the field where it was written (the environment's entry, when
    it came from there)."""
    try:
        return Deployment.model_validate(settings)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            message = str(err["msg"]).removeprefix("Value error, ")
            loc = tuple(err["loc"])
            if staff_file is not None and loc[:1] == ("staff",):
                # The field is in the staff file: name that file and the field inside it.
                lines.append(f"{staff_file}: {_format_location(loc[1:])}: {message}")
                continue
            if env is None:
                where = _format_location(loc)
            elif loc and where_in_entry(entry, loc):
                where = f"environments.{env}.{_format_location(loc)}"
            else:
                where = f"{_format_location(loc)} (as environment {env} inherits it)"
            lines.append(f"{file}: {where}: {message}")
        raise ConfigError("\n".join(lines)) from None


#: The kit's folder: a relative ``staff:`` path is read from here, as the flows are read from ``connect/flows``.
KIT_ROOT = Path(__file__).resolve().parent.parent


def staff_path(reference: str) -> Path:
    """Where ``staff: PATH`` points: an absolute path, or one relative to the kit's folder."""
    return Path(reference) if Path(reference).is_absolute() else KIT_ROOT / reference


def _staff_content(reference: str) -> dict[str, Any]:
    path = staff_path(reference)
    try:
        content = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"staff: {reference} not found (a relative path is read from {KIT_ROOT})") from None
    except (UnicodeDecodeError, OSError) as exc:  # a folder, unreadable, not UTF-8
        raise ConfigError(f"staff: {reference}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping (security_profiles, routing_profiles, users, ...)")
    return content


def _read_staff(file: Path, raw: dict[str, Any]) -> Path | None:
    """Replace ``staff: PATH`` in ``raw`` by the file's content; the path read, or None for inline staff."""
    reference = raw.get("staff")
    if not isinstance(reference, str):
        return None
    try:
        raw["staff"] = _staff_content(reference)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    return staff_path(reference)
