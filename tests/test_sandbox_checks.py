"""The test suite's workers re-import the workflow code in every run's sandbox, so the sandbox
checks each line of it; that holds only while no workflow module hides another behind
`imports_passed_through()`, which would import it once, outside the sandbox, unchecked."""

import ast
from pathlib import Path

from settings import Settings
from workflows.registry import WORKFLOW_PACKAGE, sandbox_restrictions

WORKFLOWS = Path(__file__).resolve().parent.parent / WORKFLOW_PACKAGE


def _passed_through_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.With):
            continue
        if "imports_passed_through" not in ast.unparse(node.items[0].context_expr):
            continue
        for inner in node.body:
            if isinstance(inner, ast.ImportFrom) and inner.module:
                found.append(inner.module)
            elif isinstance(inner, ast.Import):
                found += [alias.name for alias in inner.names]
    return found


def test_no_workflow_module_is_imported_past_the_sandbox() -> None:
    hidden = {
        path.name: [
            m for m in _passed_through_imports(path.read_text()) if m.startswith("workflows")
        ]
        for path in sorted(WORKFLOWS.glob("*.py"))
    }
    assert {name: mods for name, mods in hidden.items() if mods} == {}


def test_the_test_workers_reimport_the_workflow_code_and_the_shipped_ones_share_it(
    settings: Settings,
) -> None:
    assert settings.sandbox_reimport_workflows
    assert WORKFLOW_PACKAGE not in sandbox_restrictions(reimport_workflows=True).passthrough_modules
    assert WORKFLOW_PACKAGE in sandbox_restrictions().passthrough_modules
    assert not Settings.model_fields["sandbox_reimport_workflows"].default
