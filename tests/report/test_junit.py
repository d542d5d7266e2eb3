"""The JUnit XML report: golden file, counts, outcome mapping, and schema shape."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from tests.report.fixtures import SAMPLE_PATH
from tests.report.golden import assert_golden
from warmer.model.run import CheckResult, RunReport
from warmer.report.junit import render_junit

# The element/attribute vocabulary of the Jenkins JUnit schema (jenkins-junit.xsd), which
# GitLab and the GitHub test-report actions also accept.
_ALLOWED = {
    "testsuites": (
        {"name", "tests", "failures", "errors", "skipped", "disabled", "time"},
        {"testsuite"},
    ),
    "testsuite": (
        {
            "name",
            "tests",
            "failures",
            "errors",
            "skipped",
            "disabled",
            "time",
            "timestamp",
            "hostname",
            "id",
            "package",
        },
        {"properties", "testcase", "system-out", "system-err"},
    ),
    "properties": (set(), {"property"}),
    "property": ({"name", "value"}, set()),
    "testcase": (
        {"name", "classname", "time", "assertions", "status"},
        {"skipped", "error", "failure", "system-out", "system-err"},
    ),
    "failure": ({"message", "type"}, set()),
    "error": ({"message", "type"}, set()),
    "skipped": ({"message"}, set()),
}


def _assert_schema_shape(element: ET.Element) -> None:
    attributes, children = _ALLOWED[element.tag]
    assert set(element.attrib) <= attributes, (element.tag, element.attrib)
    for child in element:
        assert child.tag in children, (element.tag, child.tag)
        _assert_schema_shape(child)
    if element.tag == "testcase":
        assert "name" in element.attrib
        assert len([c for c in element if c.tag in {"skipped", "error", "failure"}]) <= 1


def _parse(run: RunReport) -> ET.Element:
    return ET.fromstring(render_junit(run).encode("utf-8"))


def test_junit_matches_golden(run: RunReport) -> None:
    assert_golden("junit.xml", render_junit(run))


def test_one_testcase_per_check_with_counts(run: RunReport) -> None:
    root = _parse(run)
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c.expression for c in run.checks]
    assert {c.get("classname") for c in cases} == {"warmer.gate"}
    for element in (root, suite):
        assert element.get("tests") == "4"
        assert element.get("failures") == "3"
        assert element.get("errors") == "0"
        assert element.get("skipped") == "0"


def test_failure_types_distinguish_threshold_and_no_data(run: RunReport) -> None:
    cases = _parse(run).iter("testcase")
    failures = {c.get("name"): c.find("failure") for c in cases}
    assert failures["backend.offload >= 95%"] is None
    failed = failures["hit_rate.l0 >= 0.85"]
    assert failed is not None and failed.get("type") == "threshold"
    assert failed.get("message") == "observed 71.0 %, expected >= 85.0 %"
    assert failed.text == "L0 evicted 12,400 keys during verify: capacity"
    no_data = failures["hit_rate.l2 >= 0.5"]
    assert no_data is not None and no_data.get("type") == "no_data"


def test_error_outcome_and_allowed_no_data(run: RunReport) -> None:
    checks = (
        CheckResult(
            "errors.rate < 0.01",
            "errors.rate",
            "<",
            0.01,
            None,
            "error",
            diagnosis="division by zero",
        ),
        dataclasses.replace(run.checks[2], allow_no_data=True),
    )
    suite = _parse(dataclasses.replace(run, checks=checks)).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("errors"), suite.get("skipped")) == ("2", "1", "1")
    assert suite.get("failures") == "0"
    error = suite.find("testcase/error")
    assert error is not None and error.text == "division by zero"


def test_run_error_adds_a_run_testcase(run: RunReport) -> None:
    broken = dataclasses.replace(
        run,
        verdict="error",
        exit_code=3,
        checks=(),
        error="cannot reach Redis at redis://:***@l1:6379",
    )
    suite = _parse(broken).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("errors")) == ("1", "1")
    error = suite.find("testcase[@name='run']/error")
    assert error is not None and "cannot reach Redis" in (error.get("message") or "")


def test_shape_matches_the_junit_schema(run: RunReport) -> None:
    _assert_schema_shape(_parse(run))
    broken = dataclasses.replace(run, verdict="interrupted", exit_code=130, error="SIGINT")
    _assert_schema_shape(_parse(broken))


def test_hostile_strings_are_escaped_and_control_characters_dropped(run: RunReport) -> None:
    check = CheckResult(
        'a"<b>&\x00\x1b]', "hit_rate.l0", ">=", 0.5, 0.1, "fail", diagnosis="bell\x07 </failure><x>"
    )
    root = _parse(dataclasses.replace(run, checks=(check,)))
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == 'a"<b>&]'
    failure = case.find("failure")
    assert failure is not None and failure.text == "bell </failure><x>"
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["sample"] == SAMPLE_PATH
