"""`mlgym.episode.actions.classify`: the kind each action counts as in the report's analyses."""

from __future__ import annotations

import pytest

from mlgym.episode.actions import ACTION_KINDS, classify

CASES = [
    # the env's own commands and the tool bundle
    ("validate", "validate"),
    ("submit", "submit"),
    ("  submit\n", "submit"),
    ("open train.py", "view"),
    ('open "train.py" 120', "view"),
    ("goto 200", "view"),
    ("scroll_down", "view"),
    ("search_dir learning_rate", "search"),
    ("search_file lr train.py", "search"),
    ("find_file config.yaml", "search"),
    ("literature_search 'ppo entropy bonus'", "search"),
    ("create model.py", "edit"),
    ("edit 10:12\n    lr = 3e-4\n    python train.py && rm -rf /\nend_of_edit", "edit"),
    ("insert 5\nimport torch\nend_of_insert", "edit"),
    # Python: scripts, modules, packaging, launchers
    ("python train.py", "python"),
    ("python3 train.py --epochs 3", "python"),
    ("python3.11 -m pip install -r requirements.txt", "python"),
    ("/usr/bin/python3 evaluate.py", "python"),
    ("pip install scikit-learn", "python"),
    ("pip3 list", "python"),
    ("pytest -q tests", "python"),
    ("./train.py", "python"),
    ("python -c 'import torch; print(torch.__version__)'", "python"),
    ("torchrun --nproc_per_node=2 train.py", "python"),
    ("accelerate launch train.py --config cfg.yaml", "python"),
    ("deepspeed train.py", "python"),
    ("uv run train.py", "python"),
    # the env's `long` prefix, set-up segments, assignments and wrappers are looked through
    ("long python train.py", "python"),
    ("long\tpython3 train.py", "python"),
    ("long torchrun --nproc_per_node 4 train.py", "python"),
    ("long accelerate launch train.py", "python"),
    ("cd src && python train.py", "python"),
    ("cd src; python train.py", "python"),
    ("long cd /home/agent/workspace && python train.py > log.txt 2>&1", "python"),
    ("export CUDA_VISIBLE_DEVICES=0 && python train.py", "python"),
    ("source .venv/bin/activate && pip install numpy", "python"),
    ("CUDA_VISIBLE_DEVICES=0,1 torchrun train.py", "python"),
    ("OMP_NUM_THREADS=4 python train.py", "python"),
    ("env PYTHONHASHSEED=0 python train.py", "python"),
    ("nohup python train.py > out.log 2>&1 &", "python"),
    ("timeout 600 python train.py", "python"),
    ("timeout -s KILL 600 python3 train.py", "python"),
    ("time python train.py", "python"),
    ("python train.py | tail -n 20", "python"),
    ("pip install numpy && python train.py", "python"),
    ("ls && python train.py", "python"),
    ("bash -c 'cd src && python train.py'", "python"),
    ("mkdir -p checkpoints && python train.py", "python"),
    # viewing and searching from the shell
    ("cat train.py", "view"),
    ("head -n 50 data/train.csv", "view"),
    ("ls -la data/", "view"),
    ("cd data && ls", "view"),
    ("wc -l data/train.csv", "view"),
    ("cat log.txt | grep loss", "view"),
    ("grep -rn 'lr' .", "search"),
    ("find . -name '*.py'", "search"),
    ("rg learning_rate", "search"),
    # writing files from the shell
    ("cat > model.py << 'EOF'\nimport torch\npython train.py\nEOF", "edit"),
    ("echo 'lr: 0.001' > config.yaml", "edit"),
    ("printf 'a\\nb\\n' >> notes.txt", "edit"),
    # everything else a shell runs
    ("nvidia-smi", "bash"),
    ("./run.sh", "bash"),
    ("bash run.sh", "bash"),
    ("git diff", "bash"),
    ("rm -rf checkpoints", "bash"),
    ("cd src", "bash"),
    ("export LR=0.01", "bash"),
    ("echo done", "bash"),
    ("make -j4", "bash"),
    ("long ./train.sh", "bash"),
    ("cp train.py train_backup.py && sed -i 's/0.1/0.01/' train.py", "bash"),
    # nothing to run
    ("", "other"),
    ("   ", "other"),
    ("# just a comment", "other"),
    ("42", "other"),
    ("```", "other"),
]


@pytest.mark.parametrize(("action", "kind"), CASES, ids=[repr(a)[:50] for a, _ in CASES])
def test_classify(action: str, kind: str) -> None:
    assert classify(action) == kind


def test_every_kind_is_covered_and_known() -> None:
    kinds = {kind for _, kind in CASES}
    assert kinds == set(ACTION_KINDS)


def test_unbalanced_quotes_do_not_break_classification() -> None:
    assert classify("python -c 'print(1)") == "python"
    assert classify("grep 'unterminated file.py") == "search"
