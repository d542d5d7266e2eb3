"""The troubleshooting page (docs/troubleshooting.md), rendered from what warmer can print.

Two lists make the page, so it cannot drift from the code: every diagnosis kind a failing
check can carry (:data:`warmer.gate.diagnose.CATALOG`, with its advice) and every error
warmer raises on purpose (the :class:`~warmer.errors.WarmerError` tree, with its exit
code). ``scripts/gen_troubleshooting.py`` writes the page; a test fails when it is stale,
or when a new error class has no entry in :data:`ERROR_ADVICE`.
"""

from __future__ import annotations

import ast
import inspect

from warmer import errors
from warmer.errors import ExitCode, WarmerError
from warmer.gate.diagnose import CATALOG

ERROR_ADVICE: dict[type[WarmerError], str] = {
    errors.UsageError: "read the message and `warmer COMMAND --help`; nothing was sent",
    errors.ConfigError: "fix the field the message names (its path, e.g. `tiers.l1.url`); "
    "`docs/configuration.md` lists every setting",
    errors.InputError: "the message names the file (and line or entry); check its format "
    "with `warmer sample inspect`; the import summary counts each skipped line's reason",
    errors.MalformedInputError: "drop `--strict` to count and skip malformed records, or "
    "fix the line named; the import summary counts each reason",
    errors.UnsafeTargetError: "gate a candidate, not production: protected hosts are in "
    "`[safety] protected_hosts`; unsafe methods need `[safety] allow_methods`",
    errors.RunError: "the message names what stopped answering and where; fix it and gate "
    "again (the partial report shows what was measured)",
    errors.TargetUnreachableError: "check that the candidate listens at the target URL "
    "(from where warmer runs: a container needs `--network host` or the service name)",
    errors.TargetFailedError: "the candidate started refusing or failing requests mid-run: "
    "look at its logs around the time the report gives; tune `[replay] fail_after` / "
    "`fail_share` only if failures are expected",
    errors.ObserverUnreachableError: "check the tier or backend source URL and its "
    "credentials; mark the source `required = false` if the gate may run without it",
    errors.ObserverLostError: "the observer answered at first, then went away: find why "
    "(restart, OOM, network); its timeline in the report stops at that moment",
    errors.Interrupted: "the run was stopped by a signal; its partial report marks the "
    "checks it never reached `not_evaluated`",
}
"""What to do about each error, by class; every :class:`WarmerError` subclass has one."""


def error_classes() -> list[type[WarmerError]]:
    """Every error class warmer raises on purpose, parents before children."""
    found: list[type[WarmerError]] = []
    pending = [WarmerError]
    while pending:
        cls = pending.pop(0)
        if cls is not WarmerError:
            found.append(cls)
        pending += cls.__subclasses__()
    return found


def _member_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings of ``cls`` (the string under each assignment)."""
    (node,) = ast.parse(inspect.getsource(cls)).body
    assert isinstance(node, ast.ClassDef)
    docs = {}
    for statement, following in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.targets[0].id] = following.value.value
    return docs


def render_troubleshooting() -> str:
    """The whole page, as Markdown."""
    lines = [
        "# Troubleshooting",
        "",
        "<!-- Generated from warmer/gate/diagnose.py and warmer/errors.py by",
        "     scripts/gen_troubleshooting.py (`make docs`); edit those, not this file. -->",
        "",
        "A failing gate says why in two places: the **exit code** with a one-line error when",
        "the run could not measure (below, *Errors*), and a **diagnosis** on each failing",
        "check when it measured and fell short (below, *Diagnoses*: `report.md` prints the",
        "title and advice, `report.json` the `diagnosis_id`).",
        "",
        "## Exit codes",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    meanings = _member_docs(ExitCode)
    lines += [f"| {code.value} | {meanings[code.name]} |" for code in ExitCode]
    lines += [
        "",
        "## Diagnoses",
        "",
        "Tried in the order `docs/gate.md` gives; the first that the evidence supports is",
        "printed. `unknown` means nothing warmer measured explains the shortfall.",
        "",
    ]
    for diagnosis in CATALOG:
        lines += [
            f'### <a id="{diagnosis.id}"></a>`{diagnosis.id}`: {diagnosis.title}',
            "",
            f"What to do: {diagnosis.advice}.",
            "",
        ]
    lines += ["## Errors", ""]
    for cls in error_classes():
        doc = inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        lines += [
            f"### `{cls.__name__}` (exit {int(cls.exit_code)})",
            "",
            doc,
            "",
            f"What to do: {ERROR_ADVICE[cls]}.",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"
