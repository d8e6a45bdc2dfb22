"""Documentation of tool bundles, generated from their specs: for the agent's prompt, for
``docs/tools.md`` and as function schemas for models with native tool calling.

``python -m mlgym.cli.tooldocs`` prints it for the installed bundles (:mod:`mlgym.cli.tooldocs`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mlgym.errors import ConfigError
from mlgym.specs.tools import ToolBundle, ToolCommand, service_env_var

BEGIN = "<!-- BEGIN GENERATED COMMAND REFERENCE (python -m mlgym.cli.tooldocs --update) -->"
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
        raise ConfigError(f"{path} has no generated section; add the lines\n{BEGIN}\n{END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n\n{render_markdown(bundles)}\n{END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
