"""TRL's SFT trainer and the datasets library read the chat records as exported, unchanged."""

from __future__ import annotations

import datasets
import torch
from export_episodes import IMPROVE
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
from trl import SFTConfig, SFTTrainer

from mlgym.agents.embedded import find_weights
from mlgym.export import Selection, export


def test_sft_trainer_trains_on_exported_records(run_episode, tmp_path):
    folder = run_episode(IMPROVE, "improve")
    gguf = find_weights()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32,
                                         intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1))
    for kind in ("sft", "sft-tools"):
        out = tmp_path / f"{kind}.jsonl"
        export([folder], kind, out, Selection(split="any"))
        records = datasets.load_dataset("json", data_files=str(out))["train"]
        config = SFTConfig(output_dir=str(tmp_path / kind), max_steps=1, report_to=[],
                           per_device_train_batch_size=1, save_strategy="no", use_cpu=True,
                           max_length=None, dataloader_num_workers=0, disable_tqdm=True)
        trainer = SFTTrainer(model=model, args=config, processing_class=tokenizer,
                             train_dataset=records)
        processed = trainer.train_dataset[len(IMPROVE) - 1]
        reply = tokenizer.decode([t for t in processed["labels"] if t != -100])
        assert "I hand it in." in reply  # the loss falls on the reply
        if kind == "sft":  # (this model's chat template writes no tool calls)
            assert "```\nsubmit\n```" in reply
        assert "fixture-numbers" not in reply  # and not on the prompt
        result = trainer.train()
        assert result.global_step == 1 and torch.isfinite(torch.tensor(result.training_loss))
