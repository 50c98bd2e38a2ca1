"""Lever of issue 14, part 4: ONNX Runtime's dynamic int8 against torch's on one feed-forward block of mms-lid-256.

    pip install --target /tmp/ortlib onnxruntime onnx onnxscript      # not langspan dependencies
    PYTHONPATH=src python benchmarks/ort_ffn.py --ort-path /tmp/ortlib --rounds 7

The block is ``benchmarks/machine.py``'s (hidden 1280 → 5120 → 1280 with GELU, 8 × 100 frames, random weights):
torch's version is quantized as langspan quantizes (``quantize_int8``: per-channel int8 weights, dynamic
activations, fbgemm/x86 kernels); ONNX Runtime's is exported from the same fp32 block and quantized with
``onnxruntime.quantization.quantize_dynamic`` (per-channel QInt8 weights). The two run in turn, round after round,
in one process with the same thread count, so a change of machine load hits both; each round reports the median
of ``--calls`` calls per side and their ratio. Outputs are compared with the fp32 block's.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path


def timed(function, calls: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ort-path", help="folder onnxruntime was installed into with pip --target")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    if args.ort_path:
        sys.path.append(args.ort_path)  # after the environment's own packages: its numpy and torch win
    import os

    import numpy as np
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from langspan.models.quantize import quantize_int8
    from machine import FFN, FRAMES, HIDDEN, describe

    torch.manual_seed(0)
    block = torch.nn.Sequential(torch.nn.Linear(HIDDEN, FFN), torch.nn.GELU(), torch.nn.Linear(FFN, HIDDEN)).eval()
    x = torch.randn(FRAMES, HIDDEN)
    folder = Path(tempfile.mkdtemp(prefix="ort-ffn-"))
    fp32_path, int8_path = folder / "ffn.onnx", folder / "ffn-int8.onnx"
    torch.onnx.export(block, (x,), str(fp32_path), input_names=["x"], output_names=["y"], dynamo=False)
    quantize_dynamic(str(fp32_path), str(int8_path), per_channel=True, weight_type=QuantType.QInt8)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(str(int8_path), options, providers=["CPUExecutionProvider"])
    ours = quantize_int8(copy.deepcopy(block))
    feed = {"x": x.numpy()}
    with torch.inference_mode():
        reference = block(x).numpy()
        torch_out = ours(x).numpy()
    ort_out = session.run(None, feed)[0]
    error = {name: float(np.abs(out - reference).max() / np.abs(reference).max()) for name, out in
             (("torch int8", torch_out), ("ORT int8", ort_out))}  # fmt: skip
    print(f"machine: {describe()}")
    print(f"onnxruntime {onnxruntime.__version__}, threads {options.intra_op_num_threads}; "
          f"max error vs fp32 (relative to the largest output): {error}")  # fmt: skip
    ops = 2 * 2 * FRAMES * HIDDEN * FFN
    ratios = []
    for round_ in range(1, args.rounds + 1):
        with torch.inference_mode():
            torch_s = timed(lambda: ours(x), args.calls)
        ort_s = timed(lambda: session.run(None, feed), args.calls)
        ratios.append(torch_s / ort_s)
        print(f"round {round_}: torch int8 {torch_s * 1000:.1f} ms ({ops / torch_s / 1e9:.0f} GOP/s), "
              f"ORT int8 {ort_s * 1000:.1f} ms ({ops / ort_s / 1e9:.0f} GOP/s), ORT speed-up {torch_s / ort_s:.2f}x; "
              f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    print(f"ORT speed-up over torch int8: median {statistics.median(ratios):.2f}x "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}) over {len(ratios)} rounds")  # fmt: skip


if __name__ == "__main__":
    main()
