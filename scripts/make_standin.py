"""Train the langspan stand-in language-ID model and generate the demo media with ground truth.

The stand-in is a tiny Wav2Vec2ForSequenceClassification trained from scratch on espeak-ng speech in four
languages (eng, deu, fra, spa). It exists so that tests and the offline demo run real inference through the
same from_pretrained path as facebook/mms-lid-256. It is NOT a language identifier: it only knows espeak-ng.

Regenerate everything (model: ~5 min of speech synthesis plus ~11 min of training on 2 idle CPU cores;
then the demo media, seconds):

    .venv/bin/python scripts/make_standin.py

Only the demo media (keeps the trained model; prints its window accuracy on the demo):

    .venv/bin/python scripts/make_standin.py --steps demo

Steps: ``model`` trains, evaluates on held-out sentences and writes fixtures/standin-lid/ (weights, config,
preprocessor config, model card); ``demo`` writes fixtures/demo/ (media, *.truth.json, README.md) and measures
the model on it with scripts/check_standin.py. Synthesized speech is cached under /tmp/langspan-standin-cache/
(not committed; delete it to synthesize afresh).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from pathlib import Path

# OpenMP threads that spin while waiting make training ~10x slower when other processes share the 2 cores
# (measured: 6 s instead of 0.8 s per step); passive waiting must be chosen before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import standin_audio as audio
import standin_corpus as corpus

REPO = Path(__file__).resolve().parent.parent
MODEL_DIR = REPO / "fixtures" / "standin-lid"
DEMO_DIR = REPO / "fixtures" / "demo"
CACHE_DIR = Path("/tmp/langspan-standin-cache")

SEED = 1234
THREADS = 2  # the project's CPU machines have 2 cores; set here only, never in library code
WINDOW_S = 2.0  # the product's default window
SHORT_WINDOW_P = 0.2  # share of training windows shorter than WINDOW_S (padded, like a ragged last window)
SHORT_WINDOW_S = (0.5, 2.0)
TRAIN_UTTERANCES_PER_LANG = 1000  # espeak utterances per language (~4.7 h of speech in all)
EVAL_VOICES_PER_SENTENCE = 2  # each held-out sentence is spoken by this many random voices
EVAL_PAUSE_S = (0.2, 0.6)  # pauses between held-out sentences, as in the demo
EVAL_MIN_SPEECH = 0.5  # a held-out window counts as speech if at least half of it is inside an utterance
BATCH = 32
TRAIN_STEPS = 3000
PEAK_LR = 1.5e-3
WARMUP_STEPS = 150
ACCURACY_GOAL = 0.90
PROGRESS_EVAL_STEPS = 500

# The real model's flags (layer-norm conv extractor, stable layer norm, conv bias, mean pooling) at toy size.
MODEL_CONFIG = {
    "hidden_size": 128,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "intermediate_size": 256,
    # Fewer, wider-strided conv layers than the real 7: a first stride of 10 makes training 3x cheaper on CPU.
    "conv_dim": (32, 64, 96, 96),
    "conv_kernel": (20, 8, 4, 4),
    "conv_stride": (10, 4, 4, 2),  # total stride 320 samples = one frame per 20 ms, like mms-lid-256
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "conv_bias": True,
    "num_conv_pos_embeddings": 32,
    "num_conv_pos_embedding_groups": 8,
    "use_weighted_layer_sum": False,
    "classifier_proj_size": 128,
    "hidden_dropout": 0.1,
    "attention_dropout": 0.1,
    "activation_dropout": 0.0,
    "feat_proj_dropout": 0.1,
    "final_dropout": 0.1,
    "layerdrop": 0.0,
    "mask_time_prob": 0.05,
}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # transformers draws SpecAugment time masks from the global numpy RNG
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def feature_extractor():
    from transformers import Wav2Vec2FeatureExtractor

    return Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=audio.SAMPLE_RATE, padding_value=0.0,
                                    do_normalize=True, return_attention_mask=True)


def build_model():
    from transformers import Wav2Vec2Config, Wav2Vec2ForSequenceClassification

    id2label = dict(enumerate(corpus.LANGUAGES))
    config = Wav2Vec2Config(**MODEL_CONFIG, num_labels=len(id2label), id2label=id2label,
                            label2id={v: k for k, v in id2label.items()})
    return Wav2Vec2ForSequenceClassification(config)


# --- data ---------------------------------------------------------------------------------------------------


def training_clips(rng: random.Random) -> dict[str, list[np.ndarray]]:
    """Synthesize the training utterances (cached) and check that no held-out text is among them."""
    items = {lang: [(corpus.training_text(lang, rng), audio.random_voice(lang, rng))
                    for _ in range(TRAIN_UTTERANCES_PER_LANG)] for lang in corpus.LANGUAGES}
    corpus.check_disjoint({lang: [t for t, _ in pairs] for lang, pairs in items.items()})
    flat = [pair for lang in corpus.LANGUAGES for pair in items[lang]]
    clips = audio.synthesize_many(flat, CACHE_DIR)
    n = TRAIN_UTTERANCES_PER_LANG
    return {lang: clips[i * n:(i + 1) * n] for i, lang in enumerate(corpus.LANGUAGES)}


def eval_windows(rng: random.Random) -> tuple[list[np.ndarray], list[int]]:
    """Held-out sentences, spoken by random voices, joined with pauses and tiled into WINDOW_S windows.

    Keeps windows that are at least EVAL_MIN_SPEECH speech (the ragged last window included, if long enough).
    """
    windows, labels = [], []
    n = int(WINDOW_S * audio.SAMPLE_RATE)
    for label, lang in enumerate(corpus.LANGUAGES):
        items = [(text, audio.random_voice(lang, rng)) for text in corpus.EVAL_SENTENCES[lang]
                 for _ in range(EVAL_VOICES_PER_SENTENCE)]
        clips = audio.synthesize_many(items, CACHE_DIR)
        pauses = [rng.uniform(*EVAL_PAUSE_S) for _ in clips]
        stream, mask = audio.join_with_pauses(clips, pauses)
        for start in range(0, len(stream), n):
            speech = mask[start:start + n]
            if speech.sum() >= EVAL_MIN_SPEECH * n:
                windows.append(stream[start:start + n])
                labels.append(label)
    return windows, labels


def training_batch(clips: dict[str, list[np.ndarray]], rng: np.random.Generator) -> tuple[list, list]:
    """BATCH augmented windows, balanced over languages; some shorter than WINDOW_S."""
    windows, labels = [], []
    for i in range(BATCH):
        label = i % len(corpus.LANGUAGES)
        length = rng.uniform(*SHORT_WINDOW_S) if rng.random() < SHORT_WINDOW_P else WINDOW_S
        windows.append(audio.sample_window(clips[corpus.LANGUAGES[label]], length, rng))
        labels.append(label)
    return windows, labels


def to_inputs(fe, windows: list[np.ndarray]) -> dict:
    """Normalise and pad exactly as the product does (zero mean / unit variance per window, attention mask)."""
    return fe(windows, sampling_rate=audio.SAMPLE_RATE, padding=True, return_attention_mask=True,
              return_tensors="pt")


# --- training and evaluation --------------------------------------------------------------------------------


def learning_rate(step: int) -> float:
    if step < WARMUP_STEPS:
        return PEAK_LR * (step + 1) / WARMUP_STEPS
    progress = (step - WARMUP_STEPS) / max(1, TRAIN_STEPS - WARMUP_STEPS)
    return PEAK_LR * 0.5 * (1 + math.cos(math.pi * progress))


def train(model, fe, clips, rng: np.random.Generator, held_out: tuple[list, list]) -> tuple[float, float]:
    """Train for TRAIN_STEPS batches; return the wall-clock and the CPU seconds spent.

    Held-out accuracy is printed every PROGRESS_EVAL_STEPS to show the learning curve; it never steers training.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK_LR, weight_decay=0.01)
    model.train()
    started, cpu_started, running = time.monotonic(), time.process_time(), 0.0
    for step in range(TRAIN_STEPS):
        windows, labels = training_batch(clips, rng)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step)
        loss = model(**to_inputs(fe, windows), labels=torch.tensor(labels)).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
        if step % 100 == 0 or step == TRAIN_STEPS - 1:
            print(f"step {step:5d}  loss {running:.3f}  lr {learning_rate(step):.2e}  "
                  f"{time.monotonic() - started:6.0f} s", flush=True)
        if step and step % PROGRESS_EVAL_STEPS == 0:
            model.eval()
            print(f"           held-out window accuracy {accuracy(model, fe, *held_out)[0]:.1%}", flush=True)
            model.train()
    model.eval()
    return time.monotonic() - started, time.process_time() - cpu_started


@torch.no_grad()
def predict(model, fe, windows: list[np.ndarray], batch: int = 64) -> list[int]:
    out = []
    for i in range(0, len(windows), batch):
        logits = model(**to_inputs(fe, windows[i:i + batch])).logits
        out.extend(logits.argmax(-1).tolist())
    return out


def accuracy(model, fe, windows, labels) -> tuple[float, np.ndarray]:
    """Window accuracy and a confusion matrix (rows: truth, columns: prediction)."""
    predicted = predict(model, fe, windows)
    confusion = np.zeros((len(corpus.LANGUAGES),) * 2, int)
    for t, p in zip(labels, predicted, strict=True):
        confusion[t, p] += 1
    return float(np.trace(confusion) / confusion.sum()), confusion


# --- saving -------------------------------------------------------------------------------------------------


def weight_bytes(path: Path) -> int:
    return (path / "model.safetensors").stat().st_size


def write_card(path: Path, facts: dict) -> None:
    import standin_card

    (path / "README.md").write_text(standin_card.render(facts), encoding="utf-8")


def verify_loads(path: Path, window: np.ndarray, label: int) -> str:
    """Reload through the Auto* classes (the product's path) and classify one held-out window."""
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    fe = AutoFeatureExtractor.from_pretrained(path)
    model = AutoModelForAudioClassification.from_pretrained(path).eval()
    inputs = fe(window, sampling_rate=audio.SAMPLE_RATE, padding=True, return_attention_mask=True,
                return_tensors="pt")
    with torch.no_grad():
        predicted = model.config.id2label[int(model(**inputs).logits.argmax(-1))]
    expected = corpus.LANGUAGES[label]
    print(f"reloaded {path.name}: held-out {expected} window -> {predicted}")
    if predicted != expected:
        raise SystemExit("reloaded model misclassified the check window")
    return predicted


def make_model(out: Path) -> None:
    torch.set_num_threads(THREADS)
    seed_everything(SEED)
    text_rng = random.Random(SEED)
    clips = training_clips(text_rng)
    windows, labels = eval_windows(random.Random(SEED + 1))
    hours = sum(len(c) for cs in clips.values() for c in cs) / audio.SAMPLE_RATE / 3600
    print(f"training speech: {hours:.2f} h in {sum(map(len, clips.values()))} utterances; "
          f"held-out windows: {len(windows)}")
    model, fe = build_model(), feature_extractor()
    params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {params:,}")
    seconds, cpu_seconds = train(model, fe, clips, np.random.default_rng(SEED), (windows, labels))
    acc, confusion = accuracy(model, fe, windows, labels)
    print(f"training: {seconds / 60:.1f} min wall clock, {cpu_seconds / 60:.1f} CPU-minutes")
    print(f"held-out window accuracy: {acc:.2%} ({np.trace(confusion)}/{confusion.sum()})")
    print("confusion (rows truth, cols predicted):", corpus.LANGUAGES)
    print(confusion)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    fe.save_pretrained(out)
    facts = {"params": params, "weight_bytes": weight_bytes(out), "train_seconds": seconds,
                 "train_cpu_seconds": cpu_seconds, "threads": THREADS, "seed": SEED,
                 "accuracy": acc, "correct": int(np.trace(confusion)), "total": int(confusion.sum()),
                 "confusion": confusion.tolist(), "hours": hours, "utterances": sum(map(len, clips.values())),
                 "steps": TRAIN_STEPS, "batch": BATCH, "config": MODEL_CONFIG, "torch": torch.__version__,
                 "window": WINDOW_S, "eval_voices": EVAL_VOICES_PER_SENTENCE}
    write_card(out, facts)
    verify_loads(out, windows[len(windows) // 2], labels[len(windows) // 2])
    if acc < ACCURACY_GOAL:
        raise SystemExit(f"held-out accuracy {acc:.2%} is below the {ACCURACY_GOAL:.0%} goal")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="model,demo", help="comma-separated: model, demo")
    args = parser.parse_args(argv)
    steps = set(args.steps.split(","))
    if "model" in steps:
        make_model(MODEL_DIR)
    if "demo" in steps:
        import standin_demo

        torch.set_num_threads(THREADS)
        standin_demo.make_demo(DEMO_DIR, MODEL_DIR)


if __name__ == "__main__":
    main()
