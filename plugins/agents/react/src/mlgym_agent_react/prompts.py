"""The agent's prompts: Jinja2 templates from its config, and the context they are rendered with.

Four templates make the conversation (``templates:`` in the agent YAML, each overridable):

``system``
    the first message: the agent's role, the reply format, and the docs of every command;
    sees ``commands``, ``mode``, ``max_steps``.
``instance``
    the task: sees ``task_prompt`` (the environment's first observation) and ``state``.
``next_step``
    each observation: sees ``observation``, ``state``, ``step``, ``max_steps``, ``steps_left``.
``format_error``
    the answer to a malformed reply: sees ``error``, ``mode``, ``retries_left``.

Every template also sees ``small_model`` (the model's ``small`` setting), for a shorter prompt.

``state`` is the state line: step x of y, then the tools' state (open file, working directory...).
"""

from __future__ import annotations

from collections.abc import Iterable

import jinja2

from mlgym.errors import ConfigError
from mlgym.specs import ToolBundle, ToolCommand

TEMPLATE_NAMES = ("system", "instance", "next_step", "format_error")
STATE_LABELS = {"open_file": "Open file", "working_dir": "Current directory", "cwd": "Current directory",
                "memories": "Memories"}

# validate and submit are handled by the environment; documented here when no bundle does it
BUILTIN_COMMANDS = (
    ToolCommand("validate", "validate",
                "Scores your current work with the task's evaluator and shows the scores next to "
                "the baseline. The episode goes on.", builtin=True),
    ToolCommand("submit", "submit",
                "Hands in your current workspace as your final answer; it is scored and the "
                "episode ends.", builtin=True),
)


class Templates:
    """The four prompt templates, compiled once; an error names the template and the line."""

    def __init__(self, sources: dict[str, str]):
        missing = [name for name in TEMPLATE_NAMES if not sources.get(name)]
        unknown = sorted(set(sources) - set(TEMPLATE_NAMES))
        if missing or unknown:
            raise ConfigError(f"templates: missing {missing or 'none'}, unknown {unknown or 'none'};"
                              f" the templates are {', '.join(TEMPLATE_NAMES)}")
        environment = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True,
                                         lstrip_blocks=True, keep_trailing_newline=False,
                                         autoescape=False)
        self._templates = {}
        for name in TEMPLATE_NAMES:
            try:
                self._templates[name] = environment.from_string(sources[name])
            except jinja2.TemplateSyntaxError as exc:
                raise ConfigError(f"templates.{name}: line {exc.lineno}: {exc.message}") from None

    def render(self, name: str, **context) -> str:
        try:
            return self._templates[name].render(**context).strip()
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"templates.{name}: {exc.message}; the variables are: "
                              f"{', '.join(sorted(context))}") from None


def command_docs(bundles: Iterable[ToolBundle]) -> list[ToolCommand]:
    """Every command the prompt documents: the bundles' commands, then validate/submit if missing."""
    commands: list[ToolCommand] = []
    for bundle in bundles:
        commands.extend(bundle.commands)
    names = {c.name for c in commands}
    commands.extend(c for c in BUILTIN_COMMANDS if c.name not in names)
    return commands


def state_line(info: dict, max_steps: int | None) -> str:
    """``(Step 3 of 50) (Open file: train.py) (Current directory: /workspace)``."""
    step = int(info.get("step") or 0) + 1  # the step the agent is about to take
    parts = [f"(Step {step} of {max_steps})" if max_steps else f"(Step {step})"]
    for key, value in (info.get("state") or {}).items():
        if value is None or value == "":
            value = "none"
        label = STATE_LABELS.get(key, key.replace("_", " ").capitalize())
        parts.append(f"({label}: {value})")
    return " ".join(parts)


def demonstration_messages(demonstration: dict | None) -> list[dict]:
    """An example session as earlier turns of the conversation: its task, then reply/output pairs.

    The messages carry ``"mlgym": {"demonstration": True}`` so that history processing leaves them
    alone; the model sees them as turns it took before.
    """
    if not demonstration:
        return []
    mark = {"demonstration": True}
    messages = [{"role": "user", "content": demonstration["task"].strip(), "mlgym": mark}]
    for turn in demonstration.get("turns") or []:
        messages.append({"role": "assistant", "content": turn["reply"].strip(), "mlgym": mark})
        messages.append({"role": "user", "content": turn["output"].strip(), "mlgym": mark})
    messages[-1] = {**messages[-1], "content": messages[-1]["content"]
                    + "\n\nThat was an example on another task. Now your task:"}
    return messages
