"""Documentation of tool bundles, generated from their specs: for the agent's prompt, for
``docs/tools.md`` and as function schemas for models with native tool calling.

    python -m mlgym.tooldocs                   # the prompt text of every installed bundle
    python -m mlgym.tooldocs --markdown        # the Markdown reference
    python -m mlgym.tooldocs --json files      # tool-calling schemas of the bundle 'files'
    python -m mlgym.tooldocs --update docs/tools.md files literature memory
                                               # rewrite the generated part of a page
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from mlgym.tools import ToolBundle, ToolCommand, service_env_var

BEGIN = "<!-- BEGIN GENERATED COMMAND REFERENCE (python -m mlgym.tooldocs --update) -->"
END = "<!-- END GENERATED COMMAND REFERENCE -->"
_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def render_prompt(bundles: Iterable[ToolBundle]) -> str:
    """The command reference for the agent's prompt: usage, what it does, its arguments."""
    blocks = []
    for bundle in bundles:
        for command in bundle.commands:
            lines = [command.usage]
            lines += ["  " + line for line in _wrap(command.docstring, 94)]
            for arg in command.arguments:
                lines.append("  - " + _argument_line(arg))
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _argument_line(arg) -> str:
    need = "required" if arg.get("required") else "optional"
    default = f", default {arg['default']}" if "default" in arg else ""
    return f"{arg['name']} ({arg['type']}, {need}{default}): {arg['description']}"


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(" ".join(text.split()), width) or [""]


def render_markdown(bundles: Iterable[ToolBundle], heading: str = "###") -> str:
    """A Markdown section per bundle: what it is, its services, state and commands."""
    parts = []
    for bundle in sorted(bundles, key=lambda b: b.id):
        parts.append(f"{heading} Bundle `{bundle.id}`\n\n{bundle.description}\n")
        facts = []
        if bundle.services:
            facts.append("services: " + ", ".join(
                f"`{s}` (socket in `${service_env_var(s)}`)" for s in bundle.services))
        if bundle.state_command:
            facts.append(f"state after each step: `{bundle.state_command}`")
        if bundle.env:
            facts.append("environment: " + ", ".join(f"`{k}={v}`" for k, v in bundle.env.items()))
        parts += [f"- {fact}" for fact in facts]
        if facts:
            parts.append("")
        for command in bundle.commands:
            parts.append(_command_markdown(command, heading + "#"))
    return "\n".join(parts).rstrip() + "\n"


def _command_markdown(command: ToolCommand, heading: str) -> str:
    out = [f"{heading} `{command.name}`", "", "```", command.usage, "```", "",
           " ".join(command.docstring.split())]
    if command.builtin:
        out += ["", "*Handled by the environment itself, not by an executable.*"]
    if command.arguments:
        out += ["", "| argument | type | required | description |", "|---|---|---|---|"]
        for arg in command.arguments:
            need = "yes" if arg.get("required") else ("no (default " + str(arg["default"]) + ")"
                                                      if "default" in arg else "no")
            out.append(f"| `{arg['name']}` | {arg['type']} | {need} | {arg['description']} |")
    return "\n".join(out) + "\n"


def tool_schemas(bundles: Iterable[ToolBundle]) -> list[dict]:
    """One function schema per command (OpenAI / litellm ``tools`` format)."""
    schemas = []
    for bundle in bundles:
        for command in bundle.commands:
            properties = {}
            for a in command.arguments:
                properties[a["name"]] = {"type": _JSON_TYPES[a["type"]],
                                         "description": a["description"]}
                if "default" in a:
                    properties[a["name"]]["default"] = a["default"]
            required = [a["name"] for a in command.arguments if a.get("required")]
            schemas.append({"type": "function", "function": {
                "name": command.name,
                "description": " ".join(command.docstring.split()),
                "parameters": {"type": "object", "properties": properties, "required": required},
            }})
    return schemas


def update_page(path: Path, bundles: Iterable[ToolBundle]) -> bool:
    """Replace the text between the BEGIN/END markers of ``path``; True if it changed."""
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        from mlgym.errors import ConfigError

        raise ConfigError(f"{path} has no generated section; add the lines\n{BEGIN}\n{END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n\n{render_markdown(bundles)}\n{END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def installed_bundles(ids: list[str] | None = None) -> list[ToolBundle]:
    """The installed bundles, all or the given ids, sorted by id."""
    from mlgym.plugins import get_registry

    registry = get_registry()
    return [registry.get("tools", i) for i in (ids or registry.ids("tools"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlgym.tooldocs",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("bundles", nargs="*", help="bundle ids (default: every installed bundle)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--markdown", action="store_true", help="the Markdown reference")
    form.add_argument("--json", action="store_true", help="tool-calling function schemas")
    form.add_argument("--update", metavar="PAGE", type=Path,
                      help="rewrite the generated section of a Markdown page")
    args = parser.parse_args(argv)
    bundles = installed_bundles(args.bundles)
    if args.update:
        changed = update_page(args.update, bundles)
        print(f"{args.update}: {'updated' if changed else 'already current'}")
    elif args.markdown:
        sys.stdout.write(render_markdown(bundles))
    elif args.json:
        print(json.dumps(tool_schemas(bundles), indent=2))
    else:
        print(render_prompt(bundles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
