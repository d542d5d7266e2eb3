"""The JUnit XML report: one test case per check, as Jenkins, GitLab and GitHub read it.

Layout (the common Ant/Jenkins JUnit schema)::

    <testsuites name="warmer" tests= failures= errors= skipped= time=>
      <testsuite name="warmer.gate" tests= failures= errors= skipped= time= timestamp=>
        <properties><property name="run_id" value=.../> ...</properties>
        <testcase classname="warmer.gate" name="EXPRESSION" time="0">
          <failure type="threshold" message="observed ... vs threshold ...">diagnosis</failure>
          | <failure type="no_data" message="...">   (a check whose metric had no data)
          | <error type="error" message="...">       (a check that could not be evaluated)
          | <skipped message="no data (allowed by the check)"/>
        </testcase>
        <testcase classname="warmer.gate" name="run"> <error .../> </testcase>
            (only when the run itself errored or was interrupted)
      </testsuite>
    </testsuites>
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from warmer.model.run import CheckResult, RunReport
from warmer.report._format import fmt_threshold, fmt_value

# XML 1.0 cannot carry most control characters, even escaped: drop them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

CLASSNAME = "warmer.gate"


def xml_text(value: object) -> str:
    """``value`` as a string XML 1.0 can hold (ElementTree escapes the rest)."""
    return _INVALID_XML.sub("", str(value))


def render_junit(run: RunReport) -> str:
    """``junit.xml`` for ``run``."""
    suite = ET.Element("testsuite", name=CLASSNAME)
    if run.started_at:
        suite.set("timestamp", xml_text(run.started_at))
    suite.append(_properties(run))
    cases = [_check_case(c) for c in run.checks]
    if run.verdict in ("error", "interrupted"):
        cases.append(_run_case(run))
    suite.extend(cases)
    counts = _counts(cases)
    duration = f"{sum(p.duration_s for p in run.phases):.3f}"
    for name, value in (*counts.items(), ("time", duration)):
        suite.set(name, value)
    root = ET.Element("testsuites", {"name": "warmer", **counts, "time": duration})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _properties(run: RunReport) -> ET.Element:
    props = ET.Element("properties")
    values = {
        "run_id": run.run_id,
        "verdict": run.verdict,
        "exit_code": str(run.exit_code),
        "target": run.target,
        "sample": run.sample.path if run.sample else "",
        "warmer_version": run.warmer_version,
    }
    for name, value in values.items():
        if value:
            ET.SubElement(props, "property", name=name, value=xml_text(value))
    return props


def _check_case(check: CheckResult) -> ET.Element:
    case = ET.Element("testcase", classname=CLASSNAME, name=xml_text(check.expression), time="0")
    observed = fmt_value(check.metric, check.observed)
    message = f"observed {observed}, expected {fmt_threshold(check)}"
    body = xml_text(check.diagnosis or "")
    if check.outcome == "fail":
        _child(case, "failure", "threshold", message, body)
    elif check.outcome == "no_data" and check.allow_no_data:
        ET.SubElement(case, "skipped", message=f"{check.metric}: no data (allowed by the check)")
    elif check.outcome == "no_data":
        _child(case, "failure", "no_data", xml_text(f"{check.metric}: no data"), body)
    elif check.outcome == "not_evaluated":
        ET.SubElement(case, "skipped", message=xml_text(check.diagnosis or "not evaluated"))
    elif check.outcome == "error":
        _child(case, "error", "error", xml_text(f"{check.metric}: could not evaluate"), body)
    return case


def _run_case(run: RunReport) -> ET.Element:
    case = ET.Element("testcase", classname=CLASSNAME, name="run", time="0")
    message = xml_text(run.error or f"the run ended with verdict {run.verdict}")
    _child(case, "error", run.verdict, message, message)
    return case


def _child(case: ET.Element, tag: str, kind: str, message: str, body: str) -> None:
    element = ET.SubElement(case, tag, type=kind, message=message)
    element.text = body or message


def _counts(cases: list[ET.Element]) -> dict[str, str]:
    def count(tag: str) -> str:
        return str(sum(1 for c in cases if c.find(tag) is not None))

    return {
        "tests": str(len(cases)),
        "failures": count("failure"),
        "errors": count("error"),
        "skipped": count("skipped"),
    }
