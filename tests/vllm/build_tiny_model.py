"""Builds a tiny random Llama (and a tiny random LoRA adapter for it) that the real vLLM CPU server can load.

Runs with the .vllm-venv python (torch, transformers, tokenizers, safetensors); nothing is downloaded.
Usage: .vllm-venv/bin/python tests/vllm/build_tiny_model.py [OUTPUT_ROOT]  (prints both folders as JSON)
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

# Bump whenever anything below changes what gets written, so cached builds are rebuilt.
RECIPE_VERSION = 2
RECIPE_FILE = "codesmith-recipe.json"
SEED = 1234

VOCAB_SIZE = 1536
HIDDEN_SIZE = 128
HEAD_DIM = 64
NUM_HEADS = HIDDEN_SIZE // HEAD_DIM
NUM_LAYERS = 2
INTERMEDIATE_SIZE = 256
MAX_POSITIONS = 2048
LORA_RANK = 4
LORA_ALPHA = 8
LORA_TARGETS = ("q_proj", "v_proj")

IM_START, IM_END, END_OF_TEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"

# ChatML, as Qwen-style models use it; vLLM renders it for /v1/chat/completions and /tokenize.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + (message['content'] or '') + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / ".cache"


def training_text() -> str:
    """A few hundred KB of local text: generated code-request prose plus Python sources from the stdlib."""
    import inspect
    import json as json_module
    import textwrap as textwrap_module
    import typing

    prose = [
        f"Write a Python function number {i} that {verb} a list of {noun} and returns the {result}."
        for i, (verb, noun, result) in enumerate(
            (verb, noun, result)
            for verb in ("sorts", "filters", "reverses", "groups", "counts", "merges")
            for noun in ("integers", "strings", "users", "files", "orders")
            for result in ("total", "first item", "largest value", "summary")
        )
    ]
    sources = [inspect.getsource(module) for module in (json_module, textwrap_module, typing, shutil)]
    return "\n".join([*prose, *sources])


def build_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[END_OF_TEXT, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = training_text().splitlines(keepends=True)
    chunks = ("".join(lines[start : start + 50]) for start in range(0, len(lines), 50))
    tokenizer.train_from_iterator(chunks, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=END_OF_TEXT,
        eos_token=IM_END,
        pad_token=END_OF_TEXT,
        unk_token=None,
        chat_template=CHAT_TEMPLATE,
        model_max_length=MAX_POSITIONS,
    )


def build_model(tokenizer: Any) -> Any:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN_SIZE,
        intermediate_size=INTERMEDIATE_SIZE,
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=NUM_HEADS,
        num_key_value_heads=NUM_HEADS,
        head_dim=HEAD_DIM,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        dtype="bfloat16",
    )
    # bfloat16 is what vLLM's CPU backend runs anyway; saving it avoids a downcast warning per tensor.
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return model


def build_lora_adapter(model: Any, folder: Path, base_model_path: Path) -> None:
    """A PEFT-format LoRA adapter (rank 4 on q_proj/v_proj) with random weights, as `peft` would save it.

    Its weights are large next to the base model's (std 0.02), so loading it visibly changes greedy output.
    """
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(SEED + 1)
    tensors: dict[str, torch.Tensor] = {}
    for index, layer in enumerate(model.model.layers):
        for target in LORA_TARGETS:
            linear = getattr(layer.self_attn, target)
            prefix = f"base_model.model.model.layers.{index}.self_attn.{target}"
            shape_a, shape_b = (LORA_RANK, linear.in_features), (linear.out_features, LORA_RANK)
            tensors[f"{prefix}.lora_A.weight"] = torch.randn(shape_a, generator=generator) * 0.1
            tensors[f"{prefix}.lora_B.weight"] = torch.randn(shape_b, generator=generator)
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": str(base_model_path),
        "r": LORA_RANK,
        "lora_alpha": LORA_ALPHA,
        "lora_dropout": 0.0,
        "target_modules": list(LORA_TARGETS),
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "modules_to_save": None,
    }
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2))


def is_built(folder: Path) -> bool:
    recipe = folder / RECIPE_FILE
    return recipe.is_file() and json.loads(recipe.read_text()).get("version") == RECIPE_VERSION


def build(root: Path) -> dict[str, str]:
    model_dir, lora_dir = root / "tiny-llama", root / "tiny-llama-lora"
    if not (is_built(model_dir) and is_built(lora_dir)):
        for folder in (model_dir, lora_dir):
            shutil.rmtree(folder, ignore_errors=True)
        tokenizer = build_tokenizer()
        model = build_model(tokenizer)
        model.save_pretrained(model_dir, safe_serialization=True)
        tokenizer.save_pretrained(model_dir)
        build_lora_adapter(model, lora_dir, model_dir)
        parameters = sum(p.numel() for p in model.parameters())
        # The recipe file goes last: a build interrupted halfway is never taken as complete.
        recipe = json.dumps({"version": RECIPE_VERSION, "parameters": parameters})
        for folder in (model_dir, lora_dir):
            (folder / RECIPE_FILE).write_text(recipe)
    return {"model": str(model_dir), "lora": str(lora_dir)}


if __name__ == "__main__":
    output_root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_ROOT
    print(json.dumps(build(output_root.resolve())))
