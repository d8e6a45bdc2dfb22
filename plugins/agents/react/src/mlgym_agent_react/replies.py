"""Reading a model's reply: a discussion and exactly one command.

In text mode the command is the one fenced code block of the reply; in tool-calling mode it is
the one tool call. Anything else raises :class:`MalformedReply`, whose message is shown to the
model so that it can answer again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from mlgym.specs import ToolCallError, ToolCommand, format_call

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n`]*$")
SHELL_TOOL = "bash"


class MalformedReply(ValueError):
    """A reply the agent cannot act on; the message says what was wrong, for the model."""


def fenced_blocks(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The fenced code blocks of ``text`` as (language, body), and the lines outside them.

    A block closes at a line of the same fence character at least as long as its opening fence;
    an unclosed block raises :class:`MalformedReply`.
    """
    blocks: list[tuple[str, str]] = []
    outside: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            outside.append(lines[i])
            i += 1
            continue
        fence, language = match.group(1), match.group(2).lower()
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = next((k for k in range(i + 1, len(lines)) if closing.match(lines[k])), None)
        if end is None:
            raise MalformedReply("your code block is not closed: end it with a line holding "
                                 f"only {fence}")
        blocks.append((language, "\n".join(lines[i + 1:end])))
        i = end + 1
    return blocks, outside


def parse_text(reply: str, languages: Iterable[str]) -> tuple[str, str]:
    """(discussion, command) of a text-mode reply with exactly one fenced command block."""
    blocks, outside = fenced_blocks(reply)
    if not blocks:
        raise MalformedReply("your reply has no command: put exactly one command in a fenced "
                             "code block (a line ``` before it and a line ``` after it)")
    if len(blocks) > 1:
        raise MalformedReply(f"your reply has {len(blocks)} code blocks; it must have exactly one. "
                             "Run one command per turn (join shell commands with && if needed)")
    language, command = blocks[0]
    allowed = {lang.lower() for lang in languages}
    if language not in allowed:
        shown = ", ".join(repr(lang) for lang in sorted(allowed) if lang) or "none"
        raise MalformedReply(f"your code block is marked {language!r}, but it is run by bash. "
                             "To run Python, write it to a file and run `python <file>`. Mark "
                             f"the block with one of {shown}, or leave the mark out")
    command = command.strip("\n")
    if not command.strip():
        raise MalformedReply("your code block is empty; put the command you want to run in it")
    discussion = "\n".join(outside).strip()
    return discussion, command


def parse_tool_calls(content: str, calls: list[dict], commands: dict[str, ToolCommand]) -> tuple[str, str]:
    """(discussion, command line) of a reply in native tool-calling mode: exactly one call."""
    if len(calls) != 1:
        found = "no tool call" if not calls else f"{len(calls)} tool calls"
        raise MalformedReply(f"your reply has {found}; call exactly one tool per turn")
    call = calls[0]
    name, arguments = call["name"], call.get("arguments") or {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise MalformedReply(f"the arguments of {name} are not valid JSON ({exc})") from None
    if not isinstance(arguments, dict):
        raise MalformedReply(f"the arguments of {name} must be a JSON object")
    if name == SHELL_TOOL and SHELL_TOOL not in commands:
        command = arguments.get("command")
        if not isinstance(command, str) or not command.strip():
            raise MalformedReply(f"{SHELL_TOOL} needs a non-empty string argument 'command'")
        return content.strip(), command.strip("\n")
    if name not in commands:
        known = ", ".join(sorted({*commands, SHELL_TOOL}))
        raise MalformedReply(f"there is no tool {name!r}; the tools are: {known}")
    try:
        return content.strip(), format_call(commands[name], arguments)
    except ToolCallError as exc:
        raise MalformedReply(str(exc)) from None


def tool_schema(command: ToolCommand) -> dict:
    """The OpenAI function declaration of one tool-bundle command."""
    properties, required = {}, []
    for argument in command.arguments:
        properties[argument["name"]] = {"type": argument["type"],
                                        "description": argument["description"]}
        if argument.get("required", True):
            required.append(argument["name"])
    usage = getattr(command, "usage", command.signature)
    return {"type": "function", "function": {
        "name": command.name, "description": f"{command.docstring}\nUsage: {usage}",
        "parameters": {"type": "object", "properties": properties, "required": required}}}


def shell_tool_schema() -> dict:
    """The function declaration of the plain shell command."""
    return {"type": "function", "function": {
        "name": SHELL_TOOL,
        "description": "Runs a command line in the bash shell of your workspace and returns its "
                       "output. The shell keeps its state (current folder, variables) between "
                       "calls. Commands must not be interactive.",
        "parameters": {"type": "object", "required": ["command"], "properties": {
            "command": {"type": "string", "description": "the command line to run"}}}}}


# -- grammars: replies well-formed by construction, for servers that take one (model.constrained_decoding)
#
# A grammar fixes the form of a reply, never its content: any discussion, any command line, any
# tool with any arguments of the declared types.

_GBNF_CHAR = r'( [^"\\\x00-\x1f] | "\\" ["\\/bnrt] )'


def text_grammar(command_lines: int | None = None, opening: str = "",
                 programs: Iterable[str] = ()) -> str:
    """GBNF for a text-mode reply: a discussion line, then one fenced block of a command.

    ``command_lines`` bounds the lines of the command (None: any number); the discussion starts
    with the literal ``opening`` (for instance ``"Step 3: I will "``, which keeps a small model
    on the pattern of its prompt's example session).
    """
    more = '("\\n" next)*' if command_lines is None else f'("\\n" next){{0,{command_lines - 1}}}'
    return "\n".join([
        'root ::= discussion "\\n```\\n" command "\\n```"',
        f"discussion ::= {json.dumps(opening)} [^`\\n ] [^`\\n]{{0,160}}" if opening else
        "discussion ::= [^`\\n ] [^`\\n]{0,400}",
        f"command ::= line {more}" if command_lines != 1 else "command ::= line",
        "line ::= first [^`\\n]{0,2000}" if command_lines != 1 else
        "line ::= first [^`\\n]{0,400}",  # with the discussion, fits any reply budget
        "next ::= [^`\\n]{0,2000}",
        # a command begins with a program, a path or a variable (not blank, not a comment)
        ("first ::= (" + " | ".join(json.dumps(p) for p in programs) + ")") if programs else
        "first ::= [A-Za-z_./~$]",
    ])


def tool_call_grammar(commands: Iterable[ToolCommand]) -> str:
    """GBNF for a tool-call reply as JSON: ``{"discussion": ..., "tool": ..., "arguments": {...}}``.

    Used where the server constrains replies but does not call tools natively; :func:`parse_tool_json`
    reads the reply back. Each documented command is a choice, and the plain ``bash`` tool.
    """
    # strings are bounded so that a reply fits its token budget: a line, or a text block
    rules = {"string": '"\\"" ' + _GBNF_CHAR + '{0,300} "\\""',
             "text": '"\\"" ' + _GBNF_CHAR + '{0,3000} "\\""', "integer": '"-"? [0-9]{1,12}',
             "number": '"-"? [0-9]{1,12} ("." [0-9]{1,12})?', "boolean": '"true" | "false"'}
    choices, lines = [], []
    listed = list(commands)
    if SHELL_TOOL not in {c.name for c in listed}:
        listed.append(ToolCommand(SHELL_TOOL, SHELL_TOOL, "",
                                  arguments=({"name": "command", "type": "string"},)))
    for index, command in enumerate(listed):
        parts = []
        for argument in command.arguments:
            kind = "text" if argument.get("multiline") else argument["type"]
            value = f"{kind if kind in rules else 'string'}-value"
            pair = f'"\\"{argument["name"]}\\": " {value}'
            parts.append((pair, argument.get("required", True)))
        body = _arguments_rule(parts)
        lines.append(f'call{index} ::= "\\"{command.name}\\", \\"arguments\\": {{" {body} "}}"')
        choices.append(f"call{index}")
    return "\n".join([
        'root ::= "{\\"discussion\\": " discussion ", \\"tool\\": " call "}"',
        # short, so that the call itself fits the reply's token budget
        'discussion ::= "\\"" ' + _GBNF_CHAR + '{0,200} "\\""',
        "call ::= " + " | ".join(choices),
        *lines,
        *(f"{name}-value ::= {rule}" for name, rule in rules.items()),
    ])


def _arguments_rule(parts: list[tuple[str, bool]]) -> str:
    """The arguments in their declared order, optional ones optional, joined by commas."""
    if not parts:
        return '""'
    rule = ""
    for i, (pair, required) in enumerate(parts):
        item = pair if i == 0 else f'", " {pair}'
        rule += f" {item}" if required else f" ({item})?"
    return rule.strip()


def parse_tool_json(content: str, commands: dict[str, ToolCommand]) -> tuple[str, str]:
    """(discussion, command line) of a tool call written as JSON by :func:`tool_call_grammar`."""
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise MalformedReply(f"your reply is not the JSON object of a tool call ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
        raise MalformedReply('your reply must be {"discussion": ..., "tool": ..., "arguments": {...}}')
    discussion = data.get("discussion") if isinstance(data.get("discussion"), str) else ""
    call = {"name": data["tool"], "arguments": data.get("arguments") or {}}
    return discussion.strip(), parse_tool_calls("", [call], commands)[1]
