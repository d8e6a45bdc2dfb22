"""Replies well-formed by construction: the reply format's grammar sent to servers that take one.

Over HTTP to the local provider: what the requests carry. Against the embedded llama.cpp server
(slow): that every grammar is one llama.cpp accepts, and that the replies it samples parse.
"""

from __future__ import annotations

import json
import re

import pytest
from episodes import SOLVE, react_config, run_fixture_episode
from fake_provider import reply
from mlgym_agent_react import replies

from mlgym.agents import embedded, make_model

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
needs_model = pytest.mark.skipif(not embedded.is_available(),
                                 reason=f"embedded model not installed: {embedded.INSTALL}")


def grammar_config(provider, small: bool = False, **overrides) -> dict:
    model = {"name": f"openai/{provider.model}", "api_base": provider.api_base, "backoff": 0.01,
             "constrained_decoding": "gbnf", "small": small, **overrides.pop("model", {})}
    return react_config(model=model, **overrides)


def test_a_grammar_server_gets_the_text_format_grammar_with_every_call(provider, tmp_path):
    provider.script(*(reply(text) for text in SOLVE))
    data = run_fixture_episode(grammar_config(provider), tmp_path / "out")
    assert data["exit_reason"] == "submitted"
    grammars = [request.get("grammar") for request in provider.requests]
    assert len(grammars) == 4 and len(set(grammars)) == 1
    assert grammars[0] == replies.text_grammar()
    assert "command ::= line (" in grammars[0]  # commands may span lines for a full-size model


def test_a_server_without_grammars_gets_none(provider, tmp_path):
    provider.script(*(reply(text) for text in SOLVE))
    config = grammar_config(provider)
    del config["model"]["constrained_decoding"]
    run_fixture_episode(config, tmp_path / "out")
    assert all("grammar" not in request for request in provider.requests)


def test_the_agent_option_turns_the_grammar_off(provider, tmp_path):
    provider.script(*(reply(text) for text in SOLVE))
    config = grammar_config(provider, options={"constrained_decoding": False})
    run_fixture_episode(config, tmp_path / "out")
    assert all("grammar" not in request for request in provider.requests)


def test_tool_calls_written_as_json_under_a_grammar(provider, tmp_path):
    def call(tool: str, arguments: dict, discussion: str = "ok") -> str:
        return json.dumps({"discussion": discussion, "tool": tool, "arguments": arguments})

    provider.script(reply(call("bash", {"command": "python predict.py"}, "Run it.")),
                    reply(call("open", {"path": "predict.py", "line_number": 3})),
                    reply(call("submit", {})))
    config = grammar_config(provider, mode="tool_calls", tools=["files"])
    data = run_fixture_episode(config, tmp_path / "out")
    assert [s["action"] for s in data["steps"]] == ["python predict.py", "open predict.py 3",
                                                    "submit"]
    assert data["steps"][0]["thought"] == "Run it."
    first = provider.requests[0]
    assert "tools" not in first  # servers refuse native tools beside a grammar
    assert '\\"open\\", \\"arguments\\": {' in first["grammar"]
    assert '\\"bash\\", \\"arguments\\": {' in first["grammar"]


def test_a_small_model_gets_the_short_prompt_the_example_session_and_step_openings(provider,
                                                                                    tmp_path):
    provider.script(*(reply(f"Step {i}: I will {text}") for i, text in enumerate(SOLVE, 1)))
    data = run_fixture_episode(grammar_config(provider, small=True), tmp_path / "out")
    assert data["exit_reason"] == "submitted"
    first, last = provider.requests[0], provider.requests[-1]
    system = first["messages"][0]["content"]
    assert "one short sentence, then one" in system
    assert "Besides any shell command" not in system  # the full prompt's command docs
    roles = [m["role"] for m in first["messages"]]
    assert roles[:12] == ["system", "user"] + ["assistant", "user"] * 5  # the example session
    assert "battle of the sexes" in first["messages"][1]["content"]
    assert "predict.py" in first["messages"][-1]["content"]  # then the task
    assert 'discussion ::= "Step 1: I will "' in first["grammar"]
    assert 'discussion ::= "Step 4: I will "' in last["grammar"]
    assert "command ::= line\n" in first["grammar"]  # one line
    # earlier replies come back shortened to their command block
    earlier = [m["content"] for m in last["messages"][12:] if m["role"] == "assistant"]
    assert earlier == ["```\nls\n```", "```bash\npython predict.py\n```", "```\nvalidate\n```"]


def test_tool_call_grammar_lists_each_argument_with_its_type():
    from mlgym.specs import ToolCommand

    goto = ToolCommand("goto", "goto <line_number>", "Move.",
                       ({"name": "line_number", "type": "integer", "description": "n"},))
    search = ToolCommand("search_file", "search_file <term> [<file>]", "Find.",
                         ({"name": "term", "type": "string", "description": "t"},
                          {"name": "file", "type": "string", "description": "f",
                           "required": False}))
    grammar = replies.tool_call_grammar([goto, search])
    assert '"\\"goto\\", \\"arguments\\": {" "\\"line_number\\": " integer-value "}"' in grammar
    assert '(", " "\\"file\\": " string-value)?' in grammar  # optional, after the required one
    assert "call ::= call0 | call1 | call2" in grammar  # and the plain shell tool


@pytest.mark.parametrize("text, command", [
    ('{"discussion": "Look.", "tool": "bash", "arguments": {"command": "ls -la"}}', "ls -la"),
    ('{"discussion": "", "tool": "validate", "arguments": {}}', "validate"),
])
def test_json_tool_calls_read_back(text, command):
    from mlgym_agent_react.prompts import BUILTIN_COMMANDS

    commands = {c.name: c for c in BUILTIN_COMMANDS}
    assert replies.parse_tool_json(text, commands)[1] == command


def test_json_that_is_no_tool_call_is_malformed():
    with pytest.raises(replies.MalformedReply, match="not the JSON object"):
        replies.parse_tool_json("ls -la", {})
    with pytest.raises(replies.MalformedReply, match="there is no tool 'rm'"):
        replies.parse_tool_json('{"tool": "rm", "arguments": {}}', {})


# -- against llama.cpp's own grammar engine ------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with embedded.EmbeddedServer(log_path=tmp_path_factory.mktemp("embedded") / "log") as running:
        yield running


def ask(server, grammar: str, prompt: str, max_tokens: int = 96) -> str:
    model = make_model({**server.model_config(), "max_tokens": max_tokens})
    return model.query([{"role": "user", "content": prompt}], grammar=grammar).content


@pytest.mark.slow
@needs_model
@pytest.mark.parametrize("lines, opening, programs, prompts", [
    (None, "", (), ["What is 2 + 2? Answer in Python."]),
    (1, "Step 3: I will ", ("ls ", "cat ", "validate"),
     ["List the files of the workspace.", "Write a poem about the sea."])])
def test_llama_cpp_samples_only_replies_the_text_format_reads(server, lines, opening, programs,
                                                              prompts):
    # (a reply cut off by max_tokens stays unclosed: the agent answers it as a format error; a
    # one-line command of at most 400 characters always fits)
    grammar = replies.text_grammar(lines, opening, programs)
    for prompt in prompts:
        text = ask(server, grammar, prompt, max_tokens=embedded.REPLY_TOKENS)
        discussion, command = replies.parse_text(text, [""])
        assert discussion.startswith(opening) and command.strip()
        if programs:
            assert command.startswith(tuple(programs)) and "\n" not in command


@pytest.mark.slow
@needs_model
def test_llama_cpp_samples_only_tool_calls_that_parse(server):
    from mlgym_agent_react.prompts import command_docs

    from mlgym.plugins import get_registry

    commands = command_docs([get_registry().get("tools", "files")])
    grammar = replies.tool_call_grammar(commands)
    text = ask(server, grammar, "List the files of the workspace.", max_tokens=embedded.REPLY_TOKENS)
    discussion, command = replies.parse_tool_json(text, {c.name: c for c in commands})
    assert re.match(r"\S", command)
