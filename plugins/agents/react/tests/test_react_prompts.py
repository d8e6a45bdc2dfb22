"""The react agent's reading of replies, its prompts and its history, without an environment."""

from __future__ import annotations

import re

import pytest
import yaml
from mlgym_agent_react import DEFAULT_CONFIG, history, prompts
from mlgym_agent_react.agent import ReactAgent
from mlgym_agent_react.replies import MalformedReply, parse_text, parse_tool_calls

from mlgym.agents import FormatError, agent_config
from mlgym.errors import ConfigError, UnknownIdError
from mlgym.plugins import get_registry
from mlgym.specs import ToolCommand
from mlgym.testing import ScriptedModel

SHELL = ["", "bash", "sh"]


def test_one_fenced_block_is_the_command_and_the_rest_the_discussion():
    thought, command = parse_text("I will train.\n\n```bash\npython train.py --epochs 3\n```\n",
                                  SHELL)
    assert (thought, command) == ("I will train.", "python train.py --epochs 3")


def test_multi_line_commands_keep_their_lines_and_longer_fences_nest():
    reply = "Edit it.\n````\nedit 3:4\nx = 1\n```\nnot a fence inside\n````"
    assert parse_text(reply, SHELL)[1] == "edit 3:4\nx = 1\n```\nnot a fence inside"


@pytest.mark.parametrize("reply, message", [
    ("Just thinking.", "has no command"),
    ("```\nls\n```\nand\n```\npwd\n```", "2 code blocks"),
    ("```python\nprint(1)\n```", "marked 'python'"),
    ("```\n   \n```", "empty"),
    ("```bash\nls", "not closed"),
])
def test_malformed_replies_say_what_is_wrong(reply, message):
    with pytest.raises(MalformedReply, match=message):
        parse_text(reply, SHELL)


def test_tool_calls_become_command_lines():
    edit = ToolCommand("edit", "edit <start_line>:<end_line>", "Replace lines.",
                       ({"name": "start_line", "type": "integer", "description": "a"},
                        {"name": "end_line", "type": "integer", "description": "b"},
                        {"name": "text", "type": "string", "description": "c", "multiline": True}),
                       end_name="end_of_edit")
    commands = {"edit": edit}
    call = {"id": "1", "name": "edit", "arguments": '{"start_line": 2, "end_line": 3, "text": "y = 2"}'}
    thought, line = parse_tool_calls("ok", [call], commands)  # mlgym.specs.format_call's form
    assert thought == "ok" and line.startswith("edit 2:3 <<") and "\ny = 2\n" in line
    assert parse_tool_calls("", [{"id": "2", "name": "bash", "arguments": {"command": "ls -l"}}],
                            commands)[1] == "ls -l"
    with pytest.raises(MalformedReply, match="exactly one tool"):
        parse_tool_calls("", [], commands)
    with pytest.raises(MalformedReply, match="not valid JSON"):
        parse_tool_calls("", [{"id": "3", "name": "edit", "arguments": "{oops"}], commands)
    with pytest.raises(MalformedReply, match="needs the argument"):
        parse_tool_calls("", [{"id": "4", "name": "edit", "arguments": {"start_line": 1}}], commands)


def test_state_line_shows_step_open_file_and_folder():
    info = {"step": 2, "state": {"open_file": "/w/train.py", "working_dir": "/w", "memories": 3}}
    assert prompts.state_line(info, 50) == ("(Step 3 of 50) (Open file: /w/train.py) "
                                            "(Current directory: /w) (Memories: 3)")
    assert prompts.state_line({"step": 0, "state": {"open_file": None}}, None) == \
        "(Step 1) (Open file: none)"


def test_last_n_observations_elides_older_ones():
    messages = [{"role": "system", "content": "s"}]
    for i in range(1, 8):
        text = "\n".join(["line"] * i)
        messages += [{"role": "assistant", "content": f"a{i}"},
                     {"role": "user", "content": text, "mlgym": {"observation": text}}]
    kept = history.last_n_observations(messages, n=5)
    observations = [m["content"] for m in kept if m["role"] == "user"]
    assert observations[:2] == ["Old output omitted (1 line).", "Old output omitted (2 lines)."]
    assert observations[2:] == [m["content"] for m in messages if m["role"] == "user"][2:]
    assert history.full(messages) == messages


def test_history_processors_resolve_by_name_or_import_path():
    assert history.resolve("full") is history.full
    assert history.resolve("mlgym_agent_react.history:full") is history.full
    with pytest.raises(UnknownIdError, match="Did you mean 'full'"):
        history.resolve("ful")
    with pytest.raises(ConfigError, match="cannot be loaded"):
        history.resolve("no_such_module:f")


PAPER_INTERFACE = ["open", "goto", "scroll_up", "scroll_down", "create", "edit", "insert",
                   "search_dir", "search_file", "find_file", "validate", "submit",
                   "literature_search", "parse_pdf", "memory_write", "memory_read"]


def test_the_shipped_config_is_valid_and_documents_every_bundle():
    config = agent_config("react")
    assert config["model"]["temperature"] == 0 and config["model"]["top_p"] == 0.95
    assert config["history"] == {"processor": "last_n_observations", "full_observations": 5,
                                 "small_model_processor": "commands_only"}
    agent = ReactAgent(config, model=ScriptedModel([]))
    # left out in the config: every installed bundle, the three first-party ones among them
    assert set(agent.tools) == set(get_registry().ids("tools"))
    assert {"files", "literature", "memory"} <= set(agent.tools)
    agent.reset("the task", {"step": 0})
    system = agent.messages[0]["content"]
    assert "budget of 50 steps" in system
    for command in PAPER_INTERFACE:  # the paper's agent-computer interface, each documented
        assert re.search(rf"^\s*{command}( <|$)", system, re.M), command
    for bundle in agent.bundles:
        for command in bundle.commands:
            assert command.signature in system


def test_a_user_config_overrides_templates_and_is_merged(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({"agent": "react", "tools": [], "templates": {
        "system": "Be brief. Commands: {{ commands | map(attribute='name') | join(', ') }}."}}))
    config = agent_config(None, mine)
    assert config["model"]["top_p"] == 0.95  # the rest comes from the default
    agent = ReactAgent(config, model=ScriptedModel(["ok\n```\nsubmit\n```"]))
    agent.reset("task text", {"step": 0})
    assert agent.messages[0]["content"] == "Be brief. Commands: validate, submit."
    assert agent.act("task text", {"step": 0}) == "submit"
    assert agent.model.prompts[0][1]["content"].startswith("task text\n\n(Step 1 of 50)")


def test_template_mistakes_are_config_errors(tmp_path):
    config = agent_config("react", None, {"tools": [], "templates": {"system": "{{ nope }}"}})
    agent = ReactAgent(config, model=ScriptedModel([]))
    with pytest.raises(ConfigError, match="templates.system: 'nope' is undefined"):
        agent.reset("task", {})
    config["templates"]["system"] = "{% if %}"
    with pytest.raises(ConfigError, match="templates.system: line 1"):
        ReactAgent(config)
    config["templates"]["sytem"] = "x"
    with pytest.raises(ConfigError, match="unknown \\['sytem'\\]"):
        ReactAgent(config)


def test_format_retries_are_bounded():
    config = agent_config("react", None, {"tools": [], "format_retries": 1})
    agent = ReactAgent(config, model=ScriptedModel(["no block", "still none", "```\nls\n```"]))
    agent.reset("task", {"step": 0})
    with pytest.raises(FormatError, match="2 malformed replies in a row"):
        agent.act("task", {"step": 0})
    assert len(agent.turn.format_errors) == 2


def test_default_config_file_ships_in_the_package():
    assert DEFAULT_CONFIG.is_file()
    assert yaml.safe_load(DEFAULT_CONFIG.read_text())["agent"] == "react"
