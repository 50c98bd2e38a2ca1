"""DetectOptions: how a timeline is made. Every engine takes them; every output echoes them.

They hold the loading options (``load_options()`` → ``models.LoadOptions``: model, revision, device, precision,
threads, batch size) and the analysis options. Window geometry and segmenter settings left as None take the model
family's defaults (``ModelInfo``): ``resolved(info)`` fills them in, and a timeline echoes the resolved values.
Everything is validated when the options are made, so a bad value fails before any file is opened or model loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from .errors import UsageError
from .frontend.windows import WindowSpec
from .languages import parse_language_list
from .models.base import DEFAULT_MODEL, SAMPLE_RATE, LoadOptions, ModelInfo
from .segmentation.refine import REFINE_PROBES
from .segmentation.segmenter import MIN_CONFIDENCE, MIN_SPAN, SWITCH_PENALTY, SmoothingSegmenter

# Fields that a model family may set when the user leaves them unset, with langspan's own fallback.
FAMILY_DEFAULTS = {
    "window": 2.0,
    "hop": None,
    "switch_penalty": SWITCH_PENALTY,
    "min_span": MIN_SPAN,
    "min_confidence": MIN_CONFIDENCE,
    "refine_probes": REFINE_PROBES,
}
LOAD_FIELDS = tuple(field.name for field in fields(LoadOptions))
DENSITIES = ("auto", "dense")


@dataclass(frozen=True)
class DetectOptions:
    """How a timeline is made; echoed into every result so an output says exactly how it was produced."""

    model: str = DEFAULT_MODEL
    """Hugging Face model id or local folder of a spoken-language checkpoint (any family langspan knows)."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) of ``model``."""
    device: str = "auto"
    """auto | cpu | cuda | mps."""
    precision: str = "auto"
    """auto | fp32 | int8 | fp16 | bf16; auto = int8 on CPU for large models (~4x faster than fp32, ≥ 99% of
    windows agree), fp32 for small ones, fp16 on CUDA."""
    batch_size: int = 8
    """Windows per model call: batching amortises per-call overhead (≈25% faster on CPU at 8; use 32-64 on a GPU)."""
    threads: int | None = None
    """torch CPU threads, set when the model is loaded; None leaves torch's default (one per core)."""
    cache: bool = field(default=True, metadata={"echo": False})
    """Load converted models (int8, fp16, bf16) from langspan's disk cache and add them there (``--no-cache``: off).
    It changes how fast a model loads, never what it outputs, so outputs do not echo it and batch manifests do not
    fingerprint it: a run with ``--no-cache`` resumes one without."""
    window: float | None = None
    """Window length in seconds; None = the model family's (2 s for MMS-LID: where it becomes reliable while
    keeping boundaries sharp)."""
    hop: float | None = None
    """Seconds between window starts; None means the family's hop, or ``window`` (tiling without overlap)."""
    min_window: float = 0.5
    """A shorter last window is dropped rather than guessed from too little audio."""
    top_k: int = 3
    """Alternatives kept per span (and per window with ``include_windows``)."""
    streams: tuple[int, ...] | None = None
    """ffprobe indexes of the audio streams to analyse; None means every audio stream."""
    include_windows: bool = False
    """Keep per-window results in the timeline (and the JSON output)."""
    allow_url: bool = False
    """Also open http(s) URLs (over http/https only); off, a source must be a local file. See SECURITY.md."""
    vad: bool = True
    """Detect speech first (silero-vad): windows with too little speech become ``nonspeech`` without being
    classified, and span edges next to them move to where speech starts or stops."""
    min_speech: float = 0.25
    """Least share of speech for a window to be classified: 0.25 is 0.5 s of a 2 s window, about the least audio
    a language model can judge; the speech around a rejected window still reaches its neighbours' spans."""
    switch_penalty: float | None = None
    """Cost (nats of log posterior) of a change of language in the decoder: higher means fewer, surer changes.
    None = the family's (3.0 for MMS-LID)."""
    min_span: float | None = None
    """Seconds: a shorter language span is given to its more probable neighbour. None = the family's (3.0)."""
    min_confidence: float | None = None
    """A span whose mean posterior for its language is lower becomes ``und`` (the guess stays in the
    alternatives). None = the family's (0.4)."""
    languages: tuple[str, ...] | None = None
    """Expected languages (ISO 639-3; 639-1 and names accepted): posteriors are renormalised over them."""
    refine_probes: int | None = None
    """Extra windows classified at each change of language to place it within the window; 0 turns this off.
    None = the family's (3; 2 for Whisper, whose every window costs a 30 s encoder pass)."""
    density: str = "auto"
    """``auto``: classify a sparse grid of windows and, between two, only where they disagree or are unsure (the
    segmenter's languages come out the same; see engine/density.py); ``dense``: classify every speech window."""

    def __post_init__(self) -> None:
        self.load_options()  # validates model loading: device, precision, threads, batch size
        if self.top_k < 1:
            raise UsageError(f"--top-k must be at least 1, got {self.top_k}")
        if not 0 <= self.min_speech <= 1:
            raise UsageError(f"--min-speech must be in [0, 1], got {self.min_speech}")
        if self.refine_probes is not None and self.refine_probes < 0:
            raise UsageError(f"--refine-probes must be at least 0, got {self.refine_probes}")
        if self.density not in DENSITIES:
            raise UsageError(f"--density must be one of {', '.join(DENSITIES)}, got {self.density!r}")
        if self.languages is not None:  # normalised once, so the echoed options say exactly what was used
            object.__setattr__(self, "languages", parse_language_list(self.languages))
        if self.window is not None:
            self.window_spec()  # validates window, hop and min_window; unresolved, they are checked once resolved
        elif (self.hop is not None and self.hop <= 0) or self.min_window < 0:
            raise UsageError("--hop must be positive and --min-window at least 0")
        self.segmenter()  # validates the segmenter settings

    def load_options(self) -> LoadOptions:
        return LoadOptions(**{name: getattr(self, name) for name in LOAD_FIELDS})

    @property
    def is_resolved(self) -> bool:
        return all(getattr(self, name) is not None for name in FAMILY_DEFAULTS if name != "hop")

    def resolved(self, info: ModelInfo) -> DetectOptions:
        """These options with every unset window and segmenter setting taken from the model's family."""
        if self.is_resolved:
            return self
        chosen = {}
        for name, fallback in FAMILY_DEFAULTS.items():
            family_value = getattr(info, name)
            chosen[name] = getattr(self, name)
            if chosen[name] is None:
                chosen[name] = family_value if family_value is not None else fallback
        if self.window is not None and self.hop is None:
            chosen["hop"] = None  # a window of the user's own tiles without overlap, whatever the family's hop
        return replace(self, **chosen)

    def segmenter(self) -> SmoothingSegmenter:
        return SmoothingSegmenter(top_k=self.top_k, **self._family_settings("switch_penalty", "min_span",
                                                                             "min_confidence"))  # fmt: skip

    def boundary_probes(self) -> int:
        """Extra windows per change of language: the user's, else the family's, else langspan's."""
        return int(self._family_settings("refine_probes")["refine_probes"])

    def window_spec(self) -> WindowSpec:
        geometry = self._family_settings("window", "hop")
        return WindowSpec(min_window=self.min_window, sample_rate=SAMPLE_RATE, **geometry)

    def _family_settings(self, *names: str) -> dict:
        """The named settings, with langspan's fallback where neither the user nor a family has set one yet."""
        return {name: FAMILY_DEFAULTS[name] if getattr(self, name) is None else getattr(self, name) for name in names}
