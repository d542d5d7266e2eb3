"""docs/troubleshooting.md is the diagnosis catalog and the error tree, rendered and current."""

from __future__ import annotations

from pathlib import Path

from warmer.errors import WarmerError
from warmer.gate.diagnose import CATALOG
from warmer.gate.troubleshooting import ERROR_ADVICE, error_classes, render_troubleshooting

DOC = Path(__file__).parents[2] / "docs" / "troubleshooting.md"


def test_the_committed_page_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render_troubleshooting(), (
        "docs/troubleshooting.md is stale: run `make docs` and commit it"
    )


def test_every_diagnosis_has_an_anchor_and_its_advice() -> None:
    text = DOC.read_text(encoding="utf-8")
    for diagnosis in CATALOG:
        assert f'<a id="{diagnosis.id}"></a>' in text
        assert diagnosis.advice in text


def test_every_error_class_is_listed_with_advice() -> None:
    classes = error_classes()
    # The walk finds subclasses at every depth (ObserverLostError is a grandchild of RunError).
    names = {c.__name__ for c in classes}
    assert names >= {"ConfigError", "TargetFailedError", "ObserverLostError"}
    missing = [c.__name__ for c in classes if c not in ERROR_ADVICE]
    assert not missing, f"add advice to warmer.gate.troubleshooting.ERROR_ADVICE for {missing}"
    assert set(ERROR_ADVICE) <= set(classes) and WarmerError not in ERROR_ADVICE
    text = DOC.read_text(encoding="utf-8")
    for cls in classes:
        assert f"`{cls.__name__}` (exit {int(cls.exit_code)})" in text
