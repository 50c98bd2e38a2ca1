"""What the machine can do, measured in the same run as the benchmark, so that its numbers can be read on any host.

    PYTHONPATH=src python benchmarks/machine.py            # prints the machine as JSON

Prints the CPU model, cores, the vector extensions that decide int8/bf16 speed, torch and transformers versions, and
the rate of one feed-forward block of the full-size model (hidden 1280 → 5120 → 1280, GELU between, on a batch of
8 × 100 frames: a batch of eight 2 s windows) in fp32 (torch matmul), dynamic int8 (torch's quantized Linear, as
langspan runs it) and bf16. That block is 64% of mms-lid-256's work and its densest part, so its rate is the
ceiling a forward pass can approach; ``model_ops_per_window`` says how much work a window is, and the two give the
best realtime factor this host allows (``ceiling_realtime``). ``benchmarks/speed.py`` prints this first and
reports each configuration also as a share of that ceiling.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time

HIDDEN, FFN, FRAMES = 1280, 5120, 8 * 100
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def describe() -> dict:
    import torch
    import transformers

    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            lines = cpuinfo.readlines()
    except OSError:
        lines = []
    for line in lines:
        if line.startswith("model name") and cpu in ("", platform.machine(), platform.processor()):
            cpu = line.split(":", 1)[1].strip()
        elif line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "torch_threads": torch.get_num_threads(),
        "extensions": [flag for flag in FLAGS if flag in flags], "torch": torch.__version__,
        "transformers": transformers.__version__, "quantized_engine": torch.backends.quantized.engine,
    }  # fmt: skip


def ffn_block_rates(repeats: int = 7) -> dict:
    """GFLOP/s (fp32, bf16) and GOP/s (int8) of one feed-forward block: the median of ``repeats`` timed passes."""
    import copy

    import torch

    from langspan.models.quantize import quantize_int8

    torch.manual_seed(0)
    block = torch.nn.Sequential(torch.nn.Linear(HIDDEN, FFN), torch.nn.GELU(), torch.nn.Linear(FFN, HIDDEN)).eval()
    x = torch.randn(FRAMES, HIDDEN)
    ops = 2 * 2 * FRAMES * HIDDEN * FFN  # two matrix products, a multiply and an add per weight per frame
    rates = {}
    variants = {
        "fp32_gflops": (block, x),
        "int8_gops": (quantize_int8(copy.deepcopy(block)), x),
        "bf16_gflops": (copy.deepcopy(block).to(torch.bfloat16), x.to(torch.bfloat16)),
    }
    with torch.inference_mode():
        for name, (module, data) in variants.items():
            module(data)  # warm-up: first-touch and kernel selection are not what is measured
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                module(data)
                times.append(time.perf_counter() - start)
            rates[name] = round(ops / statistics.median(times) / 1e9, 1)
    return rates


def model_ops_per_window(config, seconds: float = 2.0, rate: int = 16_000) -> float:
    """Operations (multiply + add = 2) of one forward pass of a wav2vec2 classifier on a window of ``seconds``:
    the conv front end, the Transformer's linear layers and attention products, and the positional convolution."""
    length, conv = int(seconds * rate), 0
    channels = 1
    for dim, kernel, stride in zip(config.conv_dim, config.conv_kernel, config.conv_stride, strict=True):
        length = (length - kernel) // stride + 1
        conv += channels * dim * kernel * length
        channels = dim
    frames, hidden = length, config.hidden_size
    per_layer = 4 * hidden * hidden + 2 * hidden * config.intermediate_size  # q, k, v, out; the two FFN matrices
    encoder = config.num_hidden_layers * (per_layer * frames + 2 * frames * frames * hidden)
    projection = channels * hidden * frames  # conv features → hidden
    positional = hidden * (hidden // config.num_conv_pos_embedding_groups) * config.num_conv_pos_embeddings * frames
    return 2.0 * (conv + projection + positional + encoder)


def ceiling_realtime(rates: dict, ops_per_window: float, window: float = 2.0) -> dict:
    """The best realtime factor each precision allows on this host: the block's rate over a dense pass's work."""
    per_audio_second = ops_per_window / window
    return {name.split("_")[0]: round(rate * 1e9 / per_audio_second, 2) for name, rate in rates.items()}


def measure(model_dir: str | None = None) -> dict:
    """The machine, and the work of a 2 s window of the model in ``model_dir`` (default: the full-size model)."""
    import speed

    result = describe()
    result["ffn_block"] = ffn_block_rates()
    if model_dir:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(model_dir)
    else:
        config = speed.full_size_config(speed.LABELS_FILE.read_text().split())
    ops = model_ops_per_window(config)
    result["model_gop_per_2s_window"] = round(ops / 1e9, 1)
    result["ceiling_realtime"] = ceiling_realtime(result["ffn_block"], ops)
    result["load_average"] = [round(value, 2) for value in os.getloadavg()]
    return result


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
