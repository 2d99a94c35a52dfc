"""Environments of one deployment file: ``environments:`` maps a name (dev, staging, prod) to an account and the
settings that differ there; everything else is inherited from the file's top level.

An environment is chosen with ``ivr ... --env NAME``, ``-c env=NAME`` (CDK CLI) or ``IVR_ENV=NAME`` (app.py).
Without one, the file's top level deploys exactly as it did before environments existed (same names, nothing
replaced). With one, the merged settings get names of their own, so that two environments can share an account:

- ``name`` becomes ``<name>-<env>`` (every stack, function, table, bucket, key alias, SSM parameter path
  ``/ivr/<name>/`` and the operator lock follow it), unless the environment sets ``name`` itself;
- ``instance.alias`` (and ``instance.dr_alias`` when given) get ``-<env>``, unless the environment sets them: an
  instance alias is the host name of the instance's access URL (``<alias>.my.connect.aws``), unique across AWS;
- the kit's own routing profile ``<name>-front-desk`` in ``agents.routing_profiles`` follows the new name.

Mappings are merged key by key (``data: {profile: dev}`` keeps the other ``data`` settings); lists and values are
replaced whole (``phone_numbers: []``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: An environment name: short, because it ends up in bucket names (63 characters at most, S3 user guide,
#: "Bucket naming rules") and instance aliases (45 at most).
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")

#: Environments that hold production: their account holds no other environment. AWS's multi-account guidance
#: keeps production and non-production workloads in separate accounts (AWS whitepaper "Organizing Your AWS
#: Environment Using Multiple Accounts", "Workloads OU": "Separate production and non-production workloads").
PRODUCTION_NAMES: frozenset[str] = frozenset({"prod", "production"})


class EnvironmentEntryError(ValueError):
    """An ``environments:`` entry that cannot be used; the message names the field (the loader adds the file)."""


def environment_entries(raw: Mapping[str, Any], known_keys: frozenset[str]) -> dict[str, dict[str, Any]]:
    """The ``environments:`` mapping of a deployment file's raw content, checked for shape.

    Each entry is a mapping with an ``account`` and any other top-level setting of the deployment file
    (``known_keys``); ``environments`` itself cannot be nested. Raises EnvironmentEntryError naming the field.
    """
    given = raw.get("environments")
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise EnvironmentEntryError("environments: expected a mapping of environment name -> settings")
    entries: dict[str, dict[str, Any]] = {}
    for name, entry in given.items():
        where = f"environments.{name}"
        if not isinstance(name, str) or not ENVIRONMENT_NAME.fullmatch(name):
            raise EnvironmentEntryError(
                f"{where}: {name!r} is not an environment name (1-12 lowercase letters and digits, a letter first, "
                "for example dev, staging, prod)"
            )
        if not isinstance(entry, dict):
            raise EnvironmentEntryError(f"{where}: expected a mapping with at least account:")
        if "account" not in entry:
            raise EnvironmentEntryError(f"{where}.account: each environment names its AWS account (12 digits)")
        for key in entry:
            if key in ("environments", "environment") or key not in known_keys:
                allowed = ", ".join(sorted(known_keys - {"environments", "environment"}))
                raise EnvironmentEntryError(
                    f"{where}.{key}: not a setting of the deployment file, so an environment cannot override it; "
                    f"known: {allowed}"
                )
        entries[name] = dict(entry)
    return entries


def _merged(base: Any, override: Any) -> Any:
    """``override`` over ``base``: mappings key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merged(base.get(key), value) if key in base else value
        return out
    return override


def environment_settings(raw: Mapping[str, Any], env: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """The deployment file's settings as environment ``env`` sees them (without ``environments:``)."""
    base = {k: v for k, v in raw.items() if k != "environments"}
    merged: dict[str, Any] = _merged(base, dict(entry))
    base_name = base.get("name")
    if "name" not in entry and isinstance(base_name, str):
        merged["name"] = f"{base_name}-{env}"
    instance = merged.get("instance")
    given = entry.get("instance")
    own: dict[str, Any] = given if isinstance(given, dict) else {}
    if isinstance(instance, dict):
        instance = dict(instance)
        for key in ("alias", "dr_alias"):
            if isinstance(instance.get(key), str) and key not in own:
                instance[key] = f"{instance[key]}-{env}"
        merged["instance"] = instance
    agents = merged.get("agents")
    agents_given = isinstance(entry.get("agents"), dict) and "routing_profiles" in entry["agents"]
    if isinstance(agents, dict) and isinstance(agents.get("routing_profiles"), list) and not agents_given:
        kit_profile, renamed = f"{base_name}-front-desk", f"{merged.get('name')}-front-desk"
        merged["agents"] = {
            **agents,
            "routing_profiles": [renamed if p == kit_profile else p for p in agents["routing_profiles"]],
        }
    return merged


def where_in_entry(entry: Mapping[str, Any], loc: tuple[int | str, ...]) -> bool:
    """Whether the field at ``loc`` (a validation error's location) was written in the environment's own entry."""
    node: Any = entry
    for part in loc:
        if isinstance(node, dict):
            found = part in node
        else:
            found = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not found:
            return False
        node = node[part]
    return True


def sharing_problems(targets: Mapping[str | None, tuple[str, str, tuple[str, ...]]]) -> list[str]:
    """Why the environments cannot live side by side; ``targets`` maps each environment (None: the file's top level)
    to (account, deployment name, instance aliases). Each problem names the ``environments.<env>`` field."""

    def label(env: str | None) -> str:
        return "the top level" if env is None else f"environments.{env}"

    problems: list[str] = []
    named = [(env, target) for env, target in targets.items()]
    for index, (env, (account, name, aliases)) in enumerate(named):
        for other, (other_account, other_name, other_aliases) in named[:index]:
            field = f"environments.{env}" if env is not None else f"environments.{other}"
            if env is not None and other is not None and account == other_account:
                production = sorted({env, other} & PRODUCTION_NAMES)
                if len(production) == 1:
                    problems.append(
                        f"{field}.account: {production[0]} shares account {account} with "
                        f"{other if production[0] == env else env}; production keeps an account of its own (AWS "
                        "whitepaper 'Organizing Your AWS Environment Using Multiple Accounts': separate production "
                        "and non-production workloads)"
                    )
            if account == other_account and name == other_name:
                problems.append(
                    f"{field}.name: {label(env)} and {label(other)} both deploy {name!r} to account {account}: their "
                    "stacks, functions and stores would be the same resources; give one another name"
                )
            for alias in sorted(set(aliases) & set(other_aliases)):
                problems.append(
                    f"{field}.instance: {label(env)} and {label(other)} both name an instance {alias!r}: the alias "
                    "is the host name of the instance's access URL (<alias>.my.connect.aws), which two instances "
                    "cannot share, and ReplicateInstance asks for a unique replica alias (Connect API reference); "
                    "give one another alias"
                )
    return problems


def pipeline_stack_name(deployment_name: str) -> str:
    """The stack of the pipeline's access to a deployment (stacks/pipeline_access.py), in its primary region."""
    return f"{deployment_name}-github-access"


def deploy_role_name(deployment_name: str) -> str:
    """The pipeline's deploy role in a deployment's account, which the workflow's IVR_DEPLOY_ROLE_ARN names."""
    return f"{deployment_name}-github-deploy"
