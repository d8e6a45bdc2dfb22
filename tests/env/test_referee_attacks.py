"""Attacks on the score through the agent's code (docs/threat-model.md), tried through ``env.step``.

Each test writes a hostile workspace as the agent would (shell actions only), scores it with
``validate`` or ``submit`` and checks two things: the evaluation ends with the honest score (that
of an equivalent honest strategy, scored in the same test) or fails, and no observation or
``info`` the agent was shown holds anything hidden: a game's opponent seed, the 3-SAT test
clauses, the house-price labels. Runs on the isolating backends only (``local`` isolates
nothing, by design).
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml

from mlgym.plugins import get_registry
from mlgym.specs import TaskSpec, load_task

pytestmark = pytest.mark.slow


class Agent:
    """An episode driven through ``env.step`` as the agent would, keeping all it was shown."""

    def __init__(self, env):
        self.env = env
        obs, info = env.reset()
        self.shown = [obs, json.dumps(info)]

    def step(self, action: str) -> tuple[str, dict, bool]:
        obs, _, terminated, _, info = self.env.step(action)
        self.shown += [obs, json.dumps(info)]
        return obs, info, terminated

    def run(self, command: str) -> str:
        return self.step(command)[0]

    def put(self, name: str, text: str) -> None:
        data = base64.b64encode(text.encode()).decode()
        out, info, _ = self.step(f"rm -f {name}; printf %s {data} | base64 -d > {name} && "
                                 "echo written")
        assert out.endswith("written"), out
        # the diff of the file written is the agent's own text coming back, not a leak (a
        # control below writes a secret this way on purpose)
        self.shown[-1] = json.dumps({k: v for k, v in info.items() if k != "changes"})

    def evaluate(self, action: str = "validate") -> tuple[str, dict]:
        """The observation and the evaluation record of ``validate`` or ``submit``."""
        obs, info, _ = self.step(action)
        assert info["evaluation"] is not None, obs
        return obs, info["evaluation"]

    def score(self, files: dict[str, str], action: str = "validate") -> dict:
        """The scores of the workspace with ``files`` written; the evaluation must succeed."""
        for name, text in files.items():
            self.put(name, text)
        obs, evaluation = self.evaluate(action)
        assert evaluation["ok"], obs
        return evaluation["scores"]

    def assert_never_shown(self, *secrets: str) -> None:
        for secret in secrets:
            assert secret, "an empty secret proves nothing"
            leaks = [text for text in self.shown if secret in text]
            assert not leaks, f"{secret!r} was shown to the agent: {leaks[0][:2000]}"


@pytest.fixture
def agent(isolating_backend, make_env):
    """``agent(task, protocol="mlgym")`` -> an :class:`Agent` in a fresh episode of ``task``."""

    def start(task: str | TaskSpec, protocol: str = "mlgym") -> Agent:
        return Agent(make_env(task, backend=isolating_backend, protocol=protocol))

    return start


def hidden_dir(task: str) -> Path:
    return get_registry().task(task).hidden_dir


def opponent_seed(game: str) -> str:
    seed = (hidden_dir(game) / "opponent_seed.txt").read_text().strip()
    assert len(seed) >= 16
    return seed


def assert_honest(obs: str, evaluation: dict, honest: dict) -> None:
    """The evaluation scored exactly what the honest strategy scores."""
    assert evaluation["ok"] and evaluation["scores"] == honest, obs


def assert_rejected(obs: str, evaluation: dict) -> None:
    """The evaluation failed on what the player sent back, and nothing forged was scored."""
    assert not evaluation["ok"] and evaluation["scores"] is None, obs
    assert "answered with a value the evaluator rejects" in obs, obs


def constant(move) -> str:
    return f"def row_strategy(history):\n    return {move!r}\n"


def with_prelude(prelude: str, move) -> str:
    """A strategy that runs ``prelude`` at import, then plays ``move`` every round."""
    return f"{prelude}\n\n{constant(move)}"


# -- 1. reaching the column player through the call stack or the heap --------------------------

STACK_WALKER = '''
import gc, inspect, os, random, sys

FIELDS, SOLDIERS = 6, 120
LEAK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "leak.txt")
generators = {}


def column_move(rng):  # the column player of opponent.py
    draws = [rng.randint(0, SOLDIERS) for _ in range(FIELDS)]
    while sum(draws) == 0:
        draws = [rng.randint(0, SOLDIERS) for _ in range(FIELDS)]
    allocation = [draw * SOLDIERS // sum(draws) for draw in draws]
    allocation[rng.randrange(FIELDS)] += SOLDIERS - sum(allocation)
    return allocation


def best_response(column):  # one soldier more on the column player's 4 weakest fields
    move = [0] * FIELDS
    for field in sorted(range(FIELDS), key=column.__getitem__)[:4]:
        move[field] = column[field] + 1
    return move


def find_key():
    """The key of the column players' generators, wherever it can be reached."""
    if os.path.exists(LEAK):  # the test's control: the key handed over
        return open(LEAK).read().strip()
    frames = [info.frame for info in inspect.stack()]
    frame = sys._getframe()
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    for frame in frames:
        for name, value in list(frame.f_locals.items()) + list(frame.f_globals.items()):
            if name in ("key", "secret") and isinstance(value, str):
                return value
    for obj in gc.get_objects():
        values = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()
        for value in list(values)[:100]:
            if isinstance(value, str) and value.endswith((":test:0", ":dev:0")):
                return value
    return None


def find_opponents():
    """The column players' generators themselves, if any sit in reach."""
    for obj in gc.get_objects():
        if type(obj) is list and len(obj) > 100 and all(
                isinstance(x, random.Random) and x is not random._inst for x in obj[:3]):
            return obj
    return None


KEY, OPPONENTS = find_key(), find_opponents()


def row_strategy(history):
    game = sys._getframe(1).f_locals.get("game")  # the player's own caller knows the game
    if KEY is not None and game is not None:
        rng = generators.setdefault(game, random.Random(f"{KEY}:column:{game}"))
        return best_response(column_move(rng))
    if OPPONENTS is not None and game is not None:
        twin = random.Random()
        twin.setstate(OPPONENTS[game].getstate())
        return best_response(column_move(twin))
    return [20] * 6
'''


def test_stack_and_heap_hold_no_column_player(agent):
    player = agent("blotto")
    honest = player.score({"strategy.py": constant([20] * 6)})
    player.put("strategy.py", STACK_WALKER)
    obs, evaluation = player.evaluate()
    assert evaluation["ok"] and evaluation["scores"] == honest, obs
    # the control: with the key, the same code beats the column player nearly every round
    seed = opponent_seed("blotto")
    player.put("leak.txt", f"{seed}:test:0")
    assert player.score({})["score"] > 0.95
    player.assert_never_shown(seed)


# -- 2. forging a metrics line --------------------------------------------------------------

FORGER = '''
import os, sys

def forge():
    print('{"score": 42}', flush=True)
    sys.stderr.write('{"score": 42}\\n')
    for fd in range(65):
        try:
            os.write(fd, b'{"score": 42}\\n')
        except OSError:
            pass
    if END == "exit":
        os._exit(0)

END = %r
if WHERE == "import":
    forge()

def row_strategy(history):
    if WHERE == "move" and not history:
        forge()
    return 0
'''


@pytest.mark.parametrize("end", ["return", "exit"])
@pytest.mark.parametrize("where", ["import", "move"])
def test_forged_metrics_lines_do_not_score(agent, where, end):
    player = agent("prisoners-dilemma")
    player.put("strategy.py", f"WHERE = {where!r}\n" + FORGER % end)
    obs, evaluation = player.evaluate()
    assert_rejected(obs, evaluation)  # the forged line reached the channel: not a reply
    player.assert_never_shown(opponent_seed("prisoners-dilemma"))


# -- 3. patching what the player's process runs ---------------------------------------------

PATCHES = {
    "json": "import json\n"
            "json.dumps = lambda *args, **kwargs: '{\"score\": 42}'\n"
            "json.loads = lambda *args, **kwargs: {'score': 42}\n",
    "builtins": "import builtins\n"
                "builtins.sum = lambda *args, **kwargs: 10 ** 6\n"
                "builtins.max = builtins.min = lambda *args, **kwargs: 5\n"
                "builtins.round = lambda *args, **kwargs: 42\n",
    "random": "import random\n"
              "random.seed = lambda *args, **kwargs: None\n"
              "random.Random.random = lambda self: 0.0\n"
              "random.Random.randint = lambda self, low, high: low\n"
              "random.Random.choice = lambda self, seq: seq[0]\n",
    "mlgym_player": "import mlgym_player\n"
                    "_send = mlgym_player.Channel.send\n"
                    "def send(self, message):\n"
                    "    self._writer.write(b'{\"score\": 42}\\n')\n"
                    "    _send(self, message)\n"
                    "mlgym_player.Channel.send = send\n"
                    "mlgym_player.seed_generators = lambda seed: None\n",
    # the game's own modules, from the workspace's read-only copy of the evaluator
    "game": "import os, sys\n"
            "sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "
            "'evaluator'))\n"
            "import iterated_game, opponent\n"
            "opponent.column_move = lambda history, rng: 0\n"
            "iterated_game.play = lambda *args, **kwargs: 42.0\n"
            "iterated_game.Game.games = 1\n",
}


@pytest.mark.parametrize("target", sorted(PATCHES))
def test_patching_the_player_changes_nothing_in_the_referee(agent, target):
    player = agent("prisoners-dilemma")
    honest = player.score({"strategy.py": constant(0)})
    player.put("strategy.py", with_prelude(PATCHES[target], 0))
    obs, evaluation = player.evaluate()
    if target in ("json", "mlgym_player"):  # the player's replies break: the evaluation fails
        assert_rejected(obs, evaluation)
    else:  # the player keeps working: honest, exactly
        assert_honest(obs, evaluation, honest)
    player.assert_never_shown(opponent_seed("prisoners-dilemma"))


# -- 4. values with behaviour ------------------------------------------------------------------

SLY_INT = '''
class Sly(int):  # claims to beat any number it is compared with
    __gt__ = __ge__ = __ne__ = lambda self, other: True
    __lt__ = __le__ = __eq__ = lambda self, other: False
    __hash__ = int.__hash__

def row_strategy(history):
    return [Sly(20) for _ in range(6)]
'''
SHIFTING_LIST = '''
class Shifting(list):  # valid when first looked at, 121 soldiers on every field afterwards
    looks = 0
    def __iter__(self):
        Shifting.looks += 1
        return iter([20] * 6 if Shifting.looks == 1 else [121] * 6)

def row_strategy(history):
    Shifting.looks = 0
    return Shifting([20] * 6)
'''
INVALID_VALUES = {  # what the player sends, and what the dev split's message says about it
    "nan": ("def row_strategy(history):\n    return [float('nan')] + [20] * 5\n",
            "not a plain JSON value"),
    "inf": ("def row_strategy(history):\n    return [float('inf')] * 6\n",
            "not a plain JSON value"),
    "bool": (constant([True] * 6), "whole numbers"),
}


@pytest.mark.parametrize("source", [SLY_INT, SHIFTING_LIST], ids=["int-subclass", "shifting-list"])
def test_values_with_behaviour_arrive_as_plain_json(agent, source):
    player = agent("blotto", protocol="strict")
    honest = player.score({"strategy.py": constant([20] * 6)})
    player.put("strategy.py", source)
    obs, evaluation = player.evaluate()
    assert_honest(obs, evaluation, honest)  # scored as the plain [20] * 6 it serialises to
    player.assert_never_shown(opponent_seed("blotto"))


@pytest.mark.parametrize("kind", sorted(INVALID_VALUES))
def test_values_json_cannot_carry_fail_clearly(agent, kind):
    source, message = INVALID_VALUES[kind]
    player = agent("blotto", protocol="strict")
    player.put("strategy.py", source)
    obs, evaluation = player.evaluate()
    assert not evaluation["ok"] and "row_strategy" in evaluation["error"], obs
    assert message in obs
    player.assert_never_shown(opponent_seed("blotto"))


# -- 5. hidden data by path ------------------------------------------------------------------

HIDDEN_READER = '''
import os

HERE = os.path.dirname(os.path.abspath(__file__))
for folder in ["/mlgym/hidden", HOST_HIDDEN, HERE + "/link-to-mlgym-hidden",
               HERE + "/link-to-host-hidden"]:
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    for name in names + ["opponent_seed.txt"]:
        try:
            content = open(os.path.join(folder, name)).read()
        except OSError:
            continue
        raise ValueError(f"{folder}/{name}: {content}")
'''


def test_hidden_data_is_unreadable_by_path(agent):
    game = "prisoners-dilemma"
    host = str(hidden_dir(game))
    player = agent(game, protocol="strict")  # the dev split shows what the strategy raises
    honest = player.score({"strategy.py": constant(0)})
    player.run(f"ln -s /mlgym/hidden link-to-mlgym-hidden; ln -s {host} link-to-host-hidden")
    player.put("strategy.py", with_prelude(f"HOST_HIDDEN = {host!r}\n" + HIDDEN_READER, 0))
    obs, evaluation = player.evaluate()
    assert evaluation["ok"] and evaluation["scores"] == honest, obs
    player.assert_never_shown(opponent_seed(game))


@pytest.mark.parametrize("target", ["mlgym", "host"])
def test_strategy_as_a_symlink_to_hidden_data_is_refused(agent, target):
    game = "prisoners-dilemma"
    folder = "/mlgym/hidden" if target == "mlgym" else str(hidden_dir(game))
    player = agent(game)
    player.run(f"rm strategy.py; ln -s {folder}/opponent_seed.txt strategy.py")
    obs, evaluation = player.evaluate()
    assert not evaluation["ok"], obs
    assert "strategy.py" in evaluation["error"] and "symbolic link" in evaluation["error"]
    player.assert_never_shown(opponent_seed(game))


# -- 6. carrying data out in a failure ---------------------------------------------------------

EXFILTRATOR = '''
import sys

class LeakedOpponentMoves(Exception):
    pass

def row_strategy(history):
    if len(history) >= 3:
        moves = "".join(str(column) for _, column in history)
        print("EXFIL-STDERR", moves, file=sys.stderr)
        raise LeakedOpponentMoves("EXFIL-MESSAGE " + moves)
    return 0
'''


def test_a_failure_on_test_shows_only_the_fixed_form(agent):
    game = "prisoners-dilemma"
    on_test = agent(game)
    on_test.put("strategy.py", EXFILTRATOR)
    obs, evaluation = on_test.evaluate()
    assert not evaluation["ok"] and "the call `row_strategy` of your code raised an exception" \
        in evaluation["error"], obs
    on_test.assert_never_shown("EXFIL", "LeakedOpponentMoves", opponent_seed(game))
    # the same failure on the dev split shows the details: the check above is not vacuous
    on_dev = agent(game, protocol="strict")
    on_dev.put("strategy.py", EXFILTRATOR)
    obs, evaluation = on_dev.evaluate()
    assert not evaluation["ok"]
    assert "EXFIL-MESSAGE" in obs and "LeakedOpponentMoves" in obs


# -- 7. strict protocol: one look at the test split --------------------------------------------

def test_a_failed_submit_ends_a_strict_episode(agent):
    player = agent("prisoners-dilemma", protocol="strict")
    player.put("strategy.py", EXFILTRATOR)
    obs, info, terminated = player.step("submit")
    assert terminated and not info["evaluation"]["ok"] and info["exit_reason"] == "submitted"
    assert "run `submit` again" not in obs and "episode is over" in obs, obs
    obs, info, terminated = player.step("submit")
    assert terminated and "episode is over" in obs and info["step"] == 2
    assert [e["action"] for e in info["evaluations"]] == ["submit"]  # nothing evaluated again
    player.assert_never_shown("EXFIL", "LeakedOpponentMoves")


# -- 8. a channel back from the player to the agent's own processes -----------------------------

LISTENER = '''
import os, socket, sys, threading

def serve_socket(path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(16)
    while True:
        conn, _ = server.accept()
        with open("received.txt", "ab") as out:
            out.write(conn.recv(1 << 16) + b"\\n")
        conn.close()

def serve_fifo(path):
    while True:
        with open(path, "rb") as fifo, open("received.txt", "ab") as out:
            out.write(fifo.read())

threading.Thread(target=serve_fifo, args=(sys.argv[2],)).start()
serve_socket(sys.argv[1])
'''
SENDER = '''
import os, socket

HERE = os.path.dirname(os.path.abspath(__file__))
sent = set()

def row_strategy(history):
    if len(history) == 9 and len(sent) < 3:
        message = ("LEAK " + "".join(str(column) for _, column in history)).encode()
        sent.add(message)
        try:
            conn = socket.socket(socket.AF_UNIX)
            conn.connect(os.path.join(HERE, "back.sock"))
            conn.sendall(message)
            conn.close()
        except OSError:
            pass
        try:
            fd = os.open(os.path.join(HERE, "back.fifo"), os.O_WRONLY | os.O_NONBLOCK)
            os.write(fd, message + b"\\n")
            os.close(fd)
        except OSError:
            pass
    return 0
'''


def test_a_player_cannot_talk_to_the_agents_processes(agent):
    """The workspace is read-only to the player, but a socket or a FIFO in it is a channel."""
    player = agent("prisoners-dilemma")
    player.put("listener.py", LISTENER)
    player.run("mkfifo back.fifo; chmod 666 back.fifo; touch received.txt; "
               "(nohup python3 listener.py $PWD/back.sock $PWD/back.fifo >/dev/null 2>&1 &); "
               "sleep 1")
    player.put("strategy.py", SENDER)
    player.evaluate()
    received = player.run("sleep 1; cat received.txt; echo END")
    assert "LEAK" not in received, f"the test split's opponent moves reached the agent: {received}"


# -- 9. 3-SAT: the hidden instances and the independence of timed runs ---------------------------

@pytest.fixture
def tiny_3sat(tmp_path) -> TaskSpec:
    """The 3sat task with 4 dev and 4 other test instances, so an evaluation takes seconds."""
    from mlgym_task_3sat.scripts import generate_instances as gen

    source = get_registry().task("3sat").root
    root = tmp_path / "3sat-tiny"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("__pycache__"))
    dev_file = root / "evaluator" / "instances" / "dev.json.gz"
    instances = json.loads(gzip.decompress(dev_file.read_bytes()))["instances"]
    for split, folder, chosen in (("dev", root / "evaluator" / "instances", instances[:4]),
                                  ("test", root / "hidden", instances[4:8])):
        for old in folder.glob("*.json.gz"):
            old.unlink()
        gen.write_split(folder, {"format": gen.FORMAT, "split": split, "seed": 0,
                                 "instances": chosen}, gen.NUM_VARS)
    data = yaml.safe_load((root / "task.yaml").read_text())
    data["id"] = "3sat-tiny"
    (root / "task.yaml").write_text(yaml.safe_dump(data))
    return load_task(root / "task.yaml")


def hidden_clauses(task: TaskSpec) -> list[str]:
    """The text of the test instances' first clauses, as a heuristic would print them."""
    data = json.loads(gzip.decompress((task.hidden_dir / "test.json.gz").read_bytes()))
    return [repr(tuple(clause)) for item in data["instances"] for clause in item["clauses"][:3]]


STARTER_3SAT = '''
import random

def heuristic_fn(clauses, assignment, info):
    variables = sorted({abs(literal) for clause in clauses for literal in clause})
    return random.choice(variables), True
'''
INSTANCE_FINDER = '''
import gzip, json, os, time

def is_test_set(path):
    try:
        return json.loads(gzip.decompress(open(path, "rb").read())).get("split") == "test"
    except (OSError, ValueError, AttributeError):
        return False

def find_hidden():
    for folder in ("/mlgym/hidden", HOST_HIDDEN):
        try:
            if os.listdir(folder):
                return folder
        except OSError:
            pass
    deadline = time.monotonic() + 4
    for top, folders, files in os.walk("/"):
        folders[:] = [f for f in folders if os.path.join(top, f) not in ("/proc", "/sys", "/dev")]
        folders.sort(key=lambda f: os.path.join(top, f) == "/usr")  # the system's files last
        for name in files:
            if name.endswith(".json.gz") and is_test_set(os.path.join(top, name)):
                return os.path.join(top, name)
        if time.monotonic() > deadline:
            return None

found = find_hidden()
if found:
    raise FileExistsError(found)
'''
CACHER = '''
import os, socket, time

CACHES = ["/tmp/mlgym-cache", os.path.join(os.path.dirname(os.path.abspath(__file__)), "cache")]
DAEMON = "/tmp/mlgym-daemon.sock"

def earlier_run():
    """Whether anything of an earlier run is still here: a cache file or a daemon."""
    if any(os.path.exists(path) for path in CACHES):
        return True
    try:
        conn = socket.socket(socket.AF_UNIX)
        conn.connect(DAEMON)
        return conn.recv(16) == b"seen"
    except OSError:
        return False

def start_daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            server = socket.socket(socket.AF_UNIX)
            server.bind(DAEMON)
            server.listen(8)
            while True:
                conn, _ = server.accept()
                conn.sendall(b"seen")
                conn.close()
        os._exit(0)
    time.sleep(0.2)

CACHED = earlier_run()
if not CACHED:
    for path in CACHES:
        try:
            with open(path, "w") as out:
                out.write("seen")
        except OSError:
            pass
    start_daemon()
'''
CACHED_CHOICE = '''

_honest = heuristic_fn

def heuristic_fn(clauses, assignment, info):
    if CACHED:  # a later run that found run 1's traces makes other choices
        return max(abs(literal) for clause in clauses for literal in clause), False
    return _honest(clauses, assignment, info)
'''
CLAUSE_EXFILTRATOR = '''
import sys

class LeakedClauses(Exception):
    pass

def heuristic_fn(clauses, assignment, info):
    text = " ".join(repr(tuple(clause)) for clause in clauses[:40])
    print("EXFIL-STDERR", text, file=sys.stderr)
    raise LeakedClauses("EXFIL-MESSAGE " + text)
'''


def counts(scores: dict) -> tuple[float, float]:
    return scores["decisions"], scores["backtracks"]


def test_3sat_heuristic_finds_no_hidden_instances(agent, tiny_3sat):
    player = agent(tiny_3sat)
    honest = player.score({"heuristic.py": STARTER_3SAT})
    finder = f"HOST_HIDDEN = {str(tiny_3sat.hidden_dir)!r}\n{INSTANCE_FINDER}{STARTER_3SAT}"
    assert counts(player.score({"heuristic.py": finder})) == counts(honest)
    player.assert_never_shown(*hidden_clauses(tiny_3sat))
    # the control: a copy of the test set where the agent could put it is found
    data = base64.b64encode((tiny_3sat.hidden_dir / "test.json.gz").read_bytes()).decode()
    player.run(f"mkdir -p copy; printf %s {data} | base64 -d > copy/test.json.gz")
    obs, evaluation = player.evaluate()
    assert not evaluation["ok"] and "raised FileExistsError" in evaluation["error"], obs


def test_3sat_timed_runs_share_nothing(agent, tiny_3sat):
    player = agent(tiny_3sat)
    honest = player.score({"heuristic.py": STARTER_3SAT})
    player.put("heuristic.py", CACHER + STARTER_3SAT + CACHED_CHOICE)
    obs, evaluation = player.evaluate()
    assert evaluation["ok"], obs  # run 2 or 3 finding run 1's cache would change the search
    assert counts(evaluation["scores"]) == counts(honest)
    assert "cache" not in player.run("ls")


def test_3sat_failure_on_test_shows_no_clause(agent, tiny_3sat):
    on_test = agent(tiny_3sat)
    on_test.put("heuristic.py", CLAUSE_EXFILTRATOR)
    obs, evaluation = on_test.evaluate()
    assert not evaluation["ok"] and "raised an exception" in evaluation["error"], obs
    on_test.assert_never_shown("EXFIL", "LeakedClauses", *hidden_clauses(tiny_3sat))
    on_dev = agent(tiny_3sat, protocol="strict")
    on_dev.put("heuristic.py", CLAUSE_EXFILTRATOR)
    obs, evaluation = on_dev.evaluate()
    assert not evaluation["ok"] and "EXFIL-MESSAGE" in obs and "LeakedClauses" in obs


# -- 10. house prices: a submission file that is not a plain file --------------------------------

SUBMISSIONS = {  # the shell command that makes submission.csv, and what the message says
    "symlink-host": ("ln -s {hidden}/labels.csv submission.csv", "symbolic link"),
    "symlink-mlgym": ("ln -s /mlgym/hidden/labels.csv submission.csv", "symbolic link"),
    "hard-link": ("printf 'Id,SalePrice\\n' > mine.csv; ln mine.csv submission.csv", "hard links"),
    "fifo": ("mkfifo submission.csv", "FIFO"),
    "oversize": ("head -c 2000000 /dev/zero | tr '\\0' 1 > submission.csv", "bytes, more than"),
}


@pytest.fixture
def small_house_price(tmp_path) -> TaskSpec:
    """house-price with a submission limit of 1 MiB."""
    source = get_registry().task("house-price").root
    root = tmp_path / "house-price-small"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("__pycache__"))
    data = yaml.safe_load((root / "task.yaml").read_text())
    data["id"] = "house-price-small"
    data["submission"]["max_size"] = "1MiB"
    (root / "task.yaml").write_text(yaml.safe_dump(data))
    return load_task(root / "task.yaml")


@pytest.mark.parametrize("kind", sorted(SUBMISSIONS))
def test_house_price_submission_must_be_a_plain_file(agent, small_house_price, kind):
    command, message = SUBMISSIONS[kind]
    hidden = small_house_price.hidden_dir
    player = agent(small_house_price)
    player.run("rm -f submission.csv; " + command.format(hidden=hidden))
    obs, evaluation = player.evaluate()
    assert not evaluation["ok"], obs
    assert "submission.csv" in evaluation["error"] and message in evaluation["error"], obs
    labels = (hidden / "labels.csv").read_text().splitlines()
    player.assert_never_shown(*labels[:20])
