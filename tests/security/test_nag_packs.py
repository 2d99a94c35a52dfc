"""cdk-nag: five packs on every synth, acknowledged by concern (issue 19, item 6).

The concern table of ``regions/nag.py`` is held to the packs' own rule lists, read from the cdk-nag package the
kit runs (its jsii bundle holds each pack's source): a rule id the table names must exist in its pack, and a pack
that checks a concern under the same rule name as another pack must be listed for it.
"""

from __future__ import annotations

import json
import re
import tarfile
from functools import cache
from importlib import resources

import pytest

from regions.nag import CONCERNS, PACKS, WILDCARD_PERMISSION, Concern, concern_of, nag_packs
from tests.conftest import Synth

_PACK_NAME = re.compile(r"this\.packName = '([^']*)'")
_APPLY_RULE = re.compile(r"this\.applyRule\(\{(.*?)\}\);", re.S)


@cache
def pack_rules() -> dict[str, frozenset[str]]:
    """Every pack's rule ids (``<pack>-<rule>``), from the pack sources in the installed cdk-nag's jsii bundle.

    A rule's id is its ``ruleSuffixOverride`` (AwsSolutions: ``IAM5``) or else its function's name, as cdk-nag's
    NagPack.applyRule names it.
    """
    bundle = next(p for p in resources.files("cdk_nag._jsii").iterdir() if p.name.endswith(".jsii.tgz"))
    found: dict[str, frozenset[str]] = {}
    with resources.as_file(bundle) as path, tarfile.open(path) as archive:
        for member in archive.getmembers():
            if not re.fullmatch(r"package/lib/packs/[^/]+\.js", member.name):
                continue
            extracted = archive.extractfile(member)
            assert extracted is not None
            source = extracted.read().decode()
            pack = _PACK_NAME.search(source)
            assert pack, member.name
            ids = set()
            for block in _APPLY_RULE.findall(source):
                override = re.search(r"ruleSuffixOverride: '([^']*)'", block)
                rule = re.search(r"rule: \w+\.(\w+)", block)
                assert rule, f"{member.name}: a rule the test cannot read"
                ids.add(f"{pack.group(1)}-{override.group(1) if override else rule.group(1)}")
            found[pack.group(1)] = frozenset(ids)
    return found


def test_the_packs_read_from_cdk_nag_are_the_ones_the_kit_runs() -> None:
    # GIVEN the pack sources of the installed cdk-nag and the packs the kit adds to every synth
    known = pack_rules()
    # WHEN they are compared THEN each pack the kit names exists (with its rules) and is the one nag_packs() builds
    assert set(PACKS) <= set(known)
    assert all(len(known[pack]) > 10 for pack in PACKS)
    assert [type(p).__name__ for p in nag_packs()] == [
        "AwsSolutionsChecks",
        "HIPAASecurityChecks",
        "NIST80053R5Checks",
        "PCIDSS321Checks",
        "ServerlessChecks",
    ]


@pytest.mark.parametrize("concern", CONCERNS, ids=lambda c: c.name)
def test_each_concern_names_real_rules_of_every_pack_that_checks_it(concern: Concern) -> None:
    # GIVEN one concern of the table and the rules of the packs the kit runs
    known = pack_rules()
    # WHEN its rule ids are looked up
    unknown = [
        rule for rule in concern.rules if rule.rsplit("-", 1)[0] not in PACKS or rule not in known[rule.split("-")[0]]
    ]
    # THEN each exists in its pack
    assert not unknown, f"{concern.name}: no such rule {unknown}"
    # AND every pack that has a rule of the same name as one of them is listed for it (one reason for all)
    names = {rule.rsplit("-", 1)[1] for rule in concern.rules}
    missing = sorted(f"{pack}-{name}" for pack in PACKS for name in names if f"{pack}-{name}" in known[pack])
    assert set(missing) <= set(concern.rules), (
        f"{concern.name}: also checked as {sorted(set(missing) - set(concern.rules))}"
    )


def test_a_rule_name_belongs_to_one_concern_only() -> None:
    # GIVEN every rule id of the table WHEN they are counted THEN none is in two concerns (its reason would be two)
    rules = [rule for concern in CONCERNS for rule in concern.rules]
    assert len(rules) == len(set(rules))


def test_a_rule_of_any_pack_stands_for_its_concern_and_an_unknown_one_is_refused() -> None:
    # GIVEN rule names as one pack writes them
    # WHEN each is resolved THEN it is its concern in every pack, a granular finding included
    dead_letter = concern_of("LambdaDLQ")
    assert {r.split("-")[0] for r in dead_letter.rules} == {"HIPAA.Security", "NIST.800.53.R5", "Serverless"}
    wildcard = concern_of("IAM5[Resource::*]")
    assert wildcard == WILDCARD_PERMISSION.about("Resource::*")
    assert wildcard.acknowledgment_ids() == ["AwsSolutions::AwsSolutions-IAM5[Resource::*]"]
    # AND a rule no concern lists stops the synth with where to add it
    with pytest.raises(ValueError, match=r"regions/nag\.py CONCERNS"):
        concern_of("S10")


@pytest.mark.parametrize("fixture", ["gr_synth", "standalone_synth"])
def test_every_synth_ran_every_pack_and_left_no_finding(fixture: str, request: pytest.FixtureRequest) -> None:
    # GIVEN the session's synthesized assembly of a deployment (cdk-nag ran as validation plugins)
    synth: Synth = request.getfixturevalue(fixture)
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    # WHEN each pack's report is read
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    # THEN all five packs ran, each concluded success with no open finding, and each acknowledged finding has
    # its reason
    assert set(plugins) == set(PACKS)
    for pack, plugin in plugins.items():
        assert plugin["conclusion"] == "success", pack
        assert plugin["violations"] == [], pack
        reasons = [v.get("reason", "") for v in plugin.get("suppressedViolations", [])]
        assert all(len(reason) > 40 for reason in reasons), pack
