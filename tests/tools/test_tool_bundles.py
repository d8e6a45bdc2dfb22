"""Loading bundles, multi-line actions, native tool calls, and the generated tool docs."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from mlgym.errors import ConfigError
from mlgym.plugins import get_registry
from mlgym.specs import (
    HEREDOC_END,
    ToolCallError,
    expand_multiline,
    format_call,
    load_bundle,
    render_markdown,
    render_prompt,
    service_env_var,
    tool_schemas,
    update_page,
)

FIRST_PARTY = ("files", "literature", "memory")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "tools.md"


@pytest.fixture(scope="module")
def bundles():
    registry = get_registry()
    return [registry.get("tools", b) for b in FIRST_PARTY]


def _bundle_dir(tmp_path: Path, yaml: str, executables=("hello",), mode=0o755) -> Path:
    (tmp_path / "bin").mkdir(parents=True)
    for name in executables:
        exe = tmp_path / "bin" / name
        exe.write_text("#!/bin/sh\necho hi\n")
        exe.chmod(mode)
    (tmp_path / "bundle.yaml").write_text(yaml)
    return tmp_path / "bundle.yaml"


def test_first_party_bundles_declare_every_executable(bundles):
    paper = {"open", "goto", "scroll_up", "scroll_down", "create", "edit", "insert", "search_dir",
             "search_file", "find_file", "validate", "submit", "literature_search", "parse_pdf",
             "memory_write", "memory_read"}
    assert {c.name for b in bundles for c in b.commands} == paper
    for bundle in bundles:
        listed = {c.name for c in bundle.commands}
        shipped = {p.name for p in bundle.bin_dir.iterdir()
                   if not p.name.startswith("_") and not p.name.endswith(".py")}
        assert shipped == listed - {"validate", "submit"}


def test_bundle_scripts_run_on_python_3_8_and_need_only_the_standard_library(bundles):
    for bundle in bundles:
        for path in bundle.bin_dir.iterdir():
            if path.name.endswith(".py") or path.read_text().startswith("#!"):
                source = path.read_text()
                if not path.name.endswith(".py"):
                    assert source.startswith("#!/usr/bin/env python3\n"), path
                tree = ast.parse(source, str(path), feature_version=(3, 8))
                for node in ast.walk(tree):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                            else [node.module or ""]
                        for name in names:
                            top = name.split(".")[0]
                            assert top.startswith("_") or top in _stdlib(), (path, name)


def _stdlib() -> set[str]:
    import sys

    return set(sys.stdlib_module_names) | {"__future__"}


def test_load_bundle_checks_executables_and_bodies(tmp_path):
    yaml = ("id: demo\ncommands:\n  - {name: hello, docstring: says hi}\n"
            "  - {name: gone, docstring: x}\n")
    with pytest.raises(ConfigError, match="command 'gone' has no executable .*builtin: true"):
        load_bundle(_bundle_dir(tmp_path / "a", yaml))
    yaml = "id: demo\ncommands:\n  - {name: hello, docstring: says hi}\n"
    with pytest.raises(ConfigError, match="is not executable \\(run `chmod \\+x"):
        load_bundle(_bundle_dir(tmp_path / "b", yaml, mode=0o644))
    yaml = ("id: demo\ncommands:\n  - {name: hello, docstring: x, end_name: end_of_hello}\n"
            "  - {name: hello, docstring: twice}\n")
    with pytest.raises(ConfigError, match="'hello' is declared twice; .* needs exactly one "
                                          "argument with `multiline: true`"):
        load_bundle(_bundle_dir(tmp_path / "c", yaml))
    yaml = "id: demo\ncommands:\n  - {name: hello, docstring: x, builtin: yes, argumentz: []}\n"
    with pytest.raises(ConfigError, match="unknown key 'argumentz'; did you mean 'arguments'"):
        load_bundle(_bundle_dir(tmp_path / "d", yaml))


def test_expand_multiline_turns_blocks_into_here_documents(bundles):
    action = "edit 3:4\n    x = '$HOME'\nend_of_edit\npython train.py"
    assert expand_multiline(action, bundles) == (
        f"edit 3:4 <<'{HEREDOC_END}'\n    x = '$HOME'\nend_of_edit\n{HEREDOC_END}\npython train.py")
    # a missing end line is added; an empty text is kept as empty
    assert expand_multiline("insert 0\nimport os", bundles).endswith(
        f"import os\nend_of_insert\n{HEREDOC_END}")
    assert expand_multiline("edit 2:2\nend_of_edit", bundles) == (
        f"edit 2:2 <<'{HEREDOC_END}'\nend_of_edit\n{HEREDOC_END}")
    # commands without text, other here-documents and plain shell are left alone
    for untouched in ["edit 2:3", "ls -la\npwd", "cat > f.txt <<'EOF'\nedit 1:2\nEOF\necho done",
                      "edit 1:1 <<EOF\nx\nEOF"]:
        assert expand_multiline(untouched, bundles) == untouched


def test_expanded_blocks_run_in_bash(bundles, tmp_path):
    script = expand_multiline("cat\nline 'one' $X\n\n  `two`\nend_of_edit", [_CatBundle()])
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert result.stdout == "line 'one' $X\n\n  `two`\nend_of_edit\n"


class _CatBundle:
    """A bundle whose only command, ``cat``, takes multi-line text ended by end_of_edit."""

    class _Command:
        name, end_name = "cat", "end_of_edit"

    commands = (_Command(),)


def test_format_call_builds_the_command_line_of_a_native_tool_call(bundles):
    files = bundles[0]
    assert format_call(files.command("open"), {"path": "my file.py", "line_number": 40}) == (
        "open 'my file.py' 40")
    assert format_call(files.command("open"), {"path": "a.py"}) == "open a.py"
    assert format_call(files.command("edit"), {"start_line": 3, "end_line": 5,
                                               "replacement_text": "x = 1\n"}) == (
        f"edit 3:5 <<'{HEREDOC_END}'\nx = 1\nend_of_edit\n{HEREDOC_END}")
    memory = bundles[2]
    assert format_call(memory.command("memory_read"), {"query": "best lr", "k": 3}) == (
        "memory_read 'best lr' --k 3")
    with pytest.raises(ToolCallError, match="needs the argument 'path'"):
        format_call(files.command("open"), {})
    with pytest.raises(ToolCallError, match="has no argument 'file'"):
        format_call(files.command("open"), {"file": "x"})


def test_docs_render_every_command(bundles):
    prompt = render_prompt(bundles)
    assert ("edit <start_line>:<end_line>\n<replacement_text>\nend_of_edit\n"
            "  Replaces lines") in prompt
    assert "  - n (integer, optional, default 5): how many papers to list" in prompt
    markdown = render_markdown(bundles)
    assert "#### `validate`" in markdown and "Handled by the environment itself" in markdown
    assert f"`literature` (socket in `${service_env_var('literature')}`)" in markdown
    schemas = {s["function"]["name"]: s["function"] for s in tool_schemas(bundles)}
    assert schemas["memory_write"]["parameters"]["required"] == ["text"]
    assert schemas["goto"]["parameters"]["properties"]["line_number"]["type"] == "integer"


def test_the_command_reference_in_docs_is_current(bundles, tmp_path):
    page = tmp_path / "tools.md"
    page.write_text(DOCS.read_text())
    assert not update_page(page, bundles), (
        "docs/tools.md is stale: run "
        "`python -m mlgym.cli.tooldocs --update docs/tools.md files literature memory`")


def test_the_service_client_copies_are_identical(bundles):
    # each bundle's bin/ is mounted on its own, so the client lives in both; keep them in step
    literature, memory = bundles[1], bundles[2]
    assert (literature.bin_dir / "_service_client.py").read_text() == (
        memory.bin_dir / "_service_client.py").read_text()
