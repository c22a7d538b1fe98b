"""Kokoro behind one small, blocking interface: text -> phoneme chunks -> 24 kHz float audio.

Everything here blocks (torch, espeak); callers run it in worker threads, never on the event loop.
Phonemizing and rendering are separate steps so the worker can overlap G2P of the next message with the
model rendering of the current one.

Throughput and latency (numbers in bench/README.md): on CPU the engine renders up to ``lanes`` messages at
once. A render that runs alone gets every core (torch intra-op threads); renders running side by side get one
core each, which beats one message on all cores: kokoro's many small ops scale badly across OpenMP threads,
and on a busy machine (a game, OBS, chat ingest) a many-thread render stalls on its slowest thread. An
``urgent`` render (the queue the streamer listens to) pauses the others between model blocks, so it runs on
all cores; a render can also be cancelled between blocks (``RenderCancelled``). On CUDA one lane renders
batches of chunks in one forward pass (``tts.batched``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.captions import Captions, TimedChunk, Token, build_captions
from core.speech_chunks import Mark, Piece, cap_cuts, cut_points, is_closer, mark_of, split_at
from core.voice_mix import VoiceShare, parse_voice_mix
from tts import g2p
from tts.batched import batch_groups
from tts.idle_cores import IdleCores
from tts.language_pipelines import LanguagePipelines, make_g2p_pipeline, prepare_japanese
from tts.voice_packs import MIXED_PACKS, LruCache

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
REPO_ID = "hexgrad/Kokoro-82M"
MODEL_FILE = "kokoro-v1_0.pth"
#: Kokoro's context holds 510 phonemes per forward pass.
MAX_PHONEMES = 510
_SENTENCE_END = re.compile(r"(?<=[.!?;:,—…])\s+")
#: misaki's ``[word](/ipa/)`` markup (``pronunciations`` in settings): other G2Ps just read the word.
_MARKUP_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
#: torch's intra-op thread count before the engine changed it (the machine's physical cores).
_DEFAULT_THREADS = torch.get_num_threads()
#: Messages rendered side by side on CPU. One: each render's working memory comes on top of the ~0.9 GiB model
#: and libraries, and two side by side peaked over 1.2 GiB in a raid-sized burst; two drained a backlog only
#: ~10 % faster (bench/README.md, "Footprint on a gaming PC").
CPU_LANES = 1
#: Most phonemes one CPU render takes (``core.speech_chunks.cap_cuts``): a render's working memory grows with
#: its audio (about 1.2 MiB per phoneme plus ~85 MiB, real weights), so a run-on 30-word line (~180 phonemes
#: with no mark to cut at) is rendered as two pieces and the peak stays bounded whatever the line.
CPU_RENDER_PHONEMES = 120
#: Chunks per forward pass on CUDA; CPU renders one chunk per pass (batching is slower there).
CUDA_MAX_BATCH = 8
#: Phonemes per forward pass on CUDA: activations grow with the batch's audio (about 2 MiB per phoneme on the
#: real weights, measured on an H100). 200 keeps the peak at ~1 GiB with the model (994-1,015 MiB) and still
#: drains a backlog ~3x faster than bare kokoro; 400 peaked at 1,290 MiB (bench/README.md, "GPU").
CUDA_BATCH_PHONEMES = 200
#: Frames (25 ms each) of a piece's end pad kept where a line was cut mid-sentence (``_trim_seam``).
SEAM_PAD_FRAMES = 4
#: Audio samples per predicted-duration frame.
_FRAME_SAMPLES = 600
#: oneDNN primitives kept (``limit_onednn_cache``): enough for the repeats inside one render, not for every
#: input length ever seen.
ONEDNN_CACHE_ENTRIES = 64


class EngineUnavailable(RuntimeError):
    """The model could not be loaded (no weights, no network, bad device); the reason is the message."""


class RenderCancelled(RuntimeError):
    """``render`` stopped early because its ``cancel`` event was set; nothing was produced."""


@dataclass(frozen=True, slots=True)
class _Control:
    engine: KokoroEngine
    cancel: threading.Event | None
    urgent: bool


#: The render running on this thread (read by the hooks between model blocks).
_current = threading.local()


def _between_blocks(_module: torch.nn.Module, _args: Any) -> None:
    control: _Control | None = getattr(_current, "control", None)
    if control is not None:
        control.engine._yield(control.cancel, control.urgent)


def _prepare_model(model: Any, pause_points: bool = True) -> None:
    """Make the model cheaper and safe to share between render threads, without changing its output.

    kokoro builds its convolutions with the deprecated ``weight_norm``, whose hook recomputes every weight
    from ``weight_g``/``weight_v`` on each call and writes it back onto the module: wasted work, and a write
    race with two threads. Folding computes each weight once, with the same function (bit-identical audio).
    The hooks that pause or cancel a render go on every convolution and LSTM (``pause_points``; on CUDA there are
    none: one lane renders there, a chunk takes milliseconds, and a Python hook per kernel launch cost ~20 % of a
    one-line render's time on an H100; a render is still cancelled between chunks).
    """
    from torch.nn.utils.weight_norm import WeightNorm, remove_weight_norm

    for module in model.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, WeightNorm):
                remove_weight_norm(module, hook.name)
    for module in model.modules():  # every convolution and LSTM: a few ms apart at most
        if pause_points and isinstance(module, (torch.nn.Conv1d, torch.nn.ConvTranspose1d, torch.nn.LSTM)):
            module.register_forward_pre_hook(_between_blocks)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One forward pass worth of speech: its phonemes and, on the misaki tiers, the G2P tokens behind them."""

    phonemes: str
    tokens: tuple[Token, ...] | None = None


@dataclass(frozen=True, slots=True)
class Speech:
    """A rendered item: the audio and its word timings."""

    audio: np.ndarray
    captions: Captions


#: Called after each rendered chunk with that chunk's audio (progressive output).
ChunkSink = Callable[[np.ndarray], None]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """The settings the engine needs, copied out of ``Settings`` so the engine stays settings-agnostic."""

    lang_code: str = "a"
    device: str = "auto"
    model_dir: str = ""
    voice: str = "af_heart"
    voices: Mapping[str, str] | None = None
    speed: float = 1.0
    #: ``fp32``, ``bf16`` (autocast: matrix products and convolutions in bfloat16) or ``auto`` (``resolve_precision``).
    precision: str = "fp32"
    #: ``auto``/``on``: the generator's AdaIN + Snake chains in one compiled CPU kernel (``tts.fused_vocoder``)
    #: when it can be built; ``off``: kokoro's own forward.
    fused_vocoder: str = "off"
    #: ``low``: the worker renders on threads at a lower OS priority (``tts.cpu_priority``) unless the item is
    #: the next to play; ``normal``: every render at normal priority.
    cpu_priority: str = "normal"
    #: Most CPU threads one render uses and most lanes on CPU; 0: every core torch sees.
    cpu_threads: int = 0


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX); emulated bf16 is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:  # not Linux: stay with fp32
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(requested: str, device: str) -> str:
    """``auto``: bf16 on a CPU with native bf16 (measured 0.62x the CPU time of fp32 at the same WER, see
    bench/README.md), fp32 elsewhere (on CUDA fp32 is already fast and bf16 was not checked for quality)."""
    requested = requested.lower()
    if requested == "auto":
        return "bf16" if device == "cpu" and cpu_has_native_bf16() else "fp32"
    if requested == "bf16" and device == "cpu" and not cpu_has_native_bf16():
        # oneDNN has no bf16 LSTM on such a CPU: every render would fail ("could not create a primitive descriptor")
        log.warning("precision bf16 asked for, but this CPU has no native bf16: rendering in fp32")
        return "fp32"
    return requested


def resolve_device(requested: str) -> str:
    """``auto`` picks CUDA when torch sees a GPU, else CPU; an explicit device must exist."""
    requested = requested.lower()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise EngineUnavailable("device 'cuda' requested but torch sees no CUDA GPU")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise EngineUnavailable("device 'mps' requested but it is not available")
    return requested


class KokoroEngine:
    """One KModel, one KPipeline, one mixed voice. Thread-safe: a lock serialises model calls."""

    def __init__(self, model: Any, pipeline: Any, device: str, model_dir: str, g2p_kind: str) -> None:
        self.model = model
        self.pipeline = pipeline
        self.device = device
        self.model_dir = model_dir
        self.g2p_kind = g2p_kind
        self.voice_spec = ""
        self.speed = 1.0
        self._pack: torch.Tensor | None = None
        self._lock = threading.Lock()
        self._g2p_lock = threading.Lock()
        #: Per-item voices (``voice=`` below): the ``voices`` table they are read with, and their mixed packs.
        self._voices: dict[str, str] = {}
        self.voice_packs: LruCache[torch.Tensor] = LruCache(self._mixed_pack, MIXED_PACKS)
        #: Messages the synthesis worker may render at the same time, and chunks per forward pass.
        self.lanes = 1
        self.max_batch = 1
        #: Most phonemes per render (``CPU_RENDER_PHONEMES`` on CPU, set by ``configure_parallelism``); 0: no cap
        #: but kokoro's own 510.
        self.render_phonemes = 0
        #: ``fp32`` or ``bf16``: the model's compute precision (``resolve_precision``); set by ``load``.
        self.precision = "fp32"
        #: True when the generator runs through ``tts.fused_vocoder`` (``use_fused_vocoder``).
        self.fused_vocoder = False
        #: ``low`` or ``normal`` (``EngineConfig.cpu_priority``): read by the synthesis worker for its threads.
        self.cpu_priority = "normal"
        #: Threads a render alone gets on CPU (``EngineConfig.cpu_threads``, default every core torch sees).
        self.cpu_threads = _DEFAULT_THREADS
        #: ``cpu_threads`` was ``auto`` (0): with ``cpu_priority: low`` a render then uses the cores the rest of
        #: the PC leaves idle, one when a game has them all (``_threads``, ``tts.idle_cores``).
        self._threads_auto = True
        self.idle_cores = IdleCores()
        self._renders = threading.Condition()
        self._running = 0
        self._urgent = 0
        #: One G2P pipeline per language, the engine's own first; the others built on first use.
        self.pipelines = LanguagePipelines(getattr(pipeline, "lang_code", "a"), (pipeline, g2p_kind),
                                           lambda code: make_g2p_pipeline(code, REPO_ID,
                                                                          lambda c: _make_pipeline(c, False)))

    # --- loading -------------------------------------------------------------------------------------
    @classmethod
    def load(cls, config: EngineConfig) -> KokoroEngine:
        """Load the model and G2P, build the voice mix and warm up. Raises ``EngineUnavailable``."""
        from kokoro import KModel

        device = resolve_device(config.device)
        if device.startswith("cuda"):
            # grow the CUDA cache in place instead of keeping one block per batch shape: 1,448 instead of
            # 1,838 MiB reserved for the same work on an H100 (the GPU memory the streamer's game loses)
            os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
        limit_malloc_arenas()
        limit_onednn_cache()
        try:
            if config.model_dir:
                model_dir = Path(config.model_dir)
                for needed in ("config.json", MODEL_FILE):
                    if not (model_dir / needed).is_file():
                        raise EngineUnavailable(f"model_dir {str(model_dir)!r} has no {needed}")
                model = _load_kmodel(str(model_dir / "config.json"), str(model_dir / MODEL_FILE))
            else:
                model = KModel(repo_id=REPO_ID)
            model = model.to(device).eval()
            _prepare_model(model, pause_points=device == "cpu")
        except EngineUnavailable:
            raise
        except Exception as exc:  # hub download failure, corrupt file, CUDA error...
            raise EngineUnavailable(f"could not load the Kokoro model: {type(exc).__name__}: {exc}") from exc

        pipeline, g2p_kind = _make_pipeline(config.lang_code, model)
        engine = cls(model, pipeline, device, config.model_dir, g2p_kind)
        engine.precision = resolve_precision(config.precision, device)
        engine.use_fused_vocoder(config.fused_vocoder)
        engine.cpu_priority = config.cpu_priority.lower()
        engine.set_cpu_threads(config.cpu_threads)
        if config.cpu_threads and device == "cpu":
            with contextlib.suppress(RuntimeError):  # settable once, before any inter-op work: else keep it
                torch.set_num_interop_threads(min(config.cpu_threads, _DEFAULT_THREADS))
        engine.configure_parallelism()
        engine.set_voice(config.voice, config.voices or {}, config.speed)
        engine.synthesize("Hello.")  # warm-up: first call pays for lazy initialisation
        log.info("Kokoro ready on %s (%s, G2P: %s, voice %s)", device, engine.precision, g2p_kind, config.voice)
        return engine

    def configure_parallelism(self, lanes: int | None = None, max_batch: int | None = None) -> None:
        """Lanes and batch size for this device (defaults above)."""
        if self.device == "cpu":
            self.lanes = lanes or max(1, min(CPU_LANES, _usable_cpus(), self.cpu_threads))
            self.max_batch = max_batch or 1
            self.render_phonemes = CPU_RENDER_PHONEMES
        else:
            self.render_phonemes = 0  # CUDA: batches are bounded by CUDA_BATCH_PHONEMES; no extra seams
            self.lanes = lanes or 1
            self.max_batch = max_batch or (CUDA_MAX_BATCH if self.device.startswith("cuda") else 1)

    def set_cpu_threads(self, threads: int) -> None:
        """``threads`` (0: every core torch sees) for a render alone; renders side by side share them. Applied
        by each render on its own thread (torch keeps OpenMP's count per thread)."""
        self.cpu_threads = max(1, threads or _DEFAULT_THREADS)
        self._threads_auto = not threads

    def _threads(self, sharing: int) -> int:
        """Intra-op threads for a render among ``sharing``. ``cpu_priority: low`` with ``cpu_threads: auto``: the
        cores the rest of the PC leaves idle, at least one (``tts.idle_cores``). A game keeps every core busy,
        and a render's OpenMP team meets at a barrier after each of kokoro's many small operations: each barrier
        waits until the game lets the slowest thread run, so two threads rendered slower than one (16.2 against
        9.4 s for one line with two busy workers, bench/README.md "Footprint") and the game lost a core per
        render thread; on an idle PC every core renders, as at ``normal``."""
        share = max(1, self.cpu_threads // sharing)
        if self.cpu_priority == "low" and self._threads_auto:
            return self.idle_cores.threads(share)
        return share

    def voice_pack(self, voice_id: str) -> torch.Tensor:
        """A base voice pack, from ``model_dir/voices`` when set, else kokoro's hub download."""
        if self.model_dir:
            path = Path(self.model_dir) / "voices" / f"{voice_id}.pt"
            if not path.is_file():
                raise EngineUnavailable(f"voice {voice_id!r} not found in {str(path.parent)!r}")
            return self.pipeline.load_single_voice(str(path))
        try:
            return self.pipeline.load_single_voice(voice_id)
        except Exception as exc:
            raise EngineUnavailable(f"could not load voice {voice_id!r}: {exc}") from exc

    def mix(self, shares: Sequence[VoiceShare]) -> torch.Tensor:
        """Percent-weighted sum of the base voice embeddings."""
        packs = [self.voice_pack(share.voice_id).float() * share.weight for share in shares]
        return torch.stack(packs).sum(dim=0)

    def set_voice(self, spec: str, voices: Mapping[str, str], speed: float) -> None:
        """Switch voice and speed; later synthesis uses them. Raises VoiceMixError/EngineUnavailable."""
        pack = self.mix(parse_voice_mix(spec, voices)).to(self.device)
        with self._lock:
            self.pipeline.voices[spec] = pack
            self._pack, self.voice_spec, self.speed = pack, spec, speed
            table_changed, self._voices = self._voices != dict(voices), dict(voices)
        if table_changed:  # a friendly name may now mean another Kokoro id
            self.voice_packs.clear()

    def _mixed_pack(self, spec: str) -> torch.Tensor:
        with self._lock:
            voices = self._voices
        return self.mix(parse_voice_mix(spec, voices)).to(self.device)

    def check_voice(self, spec: str) -> None:
        """Build (and cache) the pack for ``spec``; raises VoiceMixError/EngineUnavailable when it cannot be."""
        self.voice_packs.get(spec)

    # --- synthesis -----------------------------------------------------------------------------------
    def phonemize(self, text: str) -> list[str]:
        """Text -> phoneme strings of at most 510 symbols each (Kokoro's context)."""
        return [chunk.phonemes for chunk in self.plan(text)]

    def plan(self, text: str, lang: str | None = None) -> list[Chunk]:
        """Text -> chunks of at most 510 phonemes, with the G2P tokens when the tier has them (captions).
        ``lang``: the Kokoro language code whose G2P reads it (default: the engine's ``lang_code``)."""
        # One G2P at a time: misaki's espeak fallback and espeak-ng itself keep global state, and two lanes
        # phonemizing at once garbled each other's output. G2P is ~1 % of a render, so nothing is lost.
        # Long lines are cut at sentence ends first (``core.speech_chunks``): the first sentence can play while
        # the rest renders. Kokoro's 510-symbol limit then applies to each piece, as before.
        pipeline, g2p_kind = (self.pipeline, self.g2p_kind) if lang in {None, self.pipelines.default_code} \
            else self.pipelines.get(lang)
        with self._g2p_lock:
            if g2p_kind in {"misaki", "misaki-lexicon"}:
                _, tokens = pipeline.g2p(text)
                return [Chunk(ps, tuple(Token(t.text, t.phonemes or "", bool(t.whitespace)) for t in tks))
                        for sentence in _sentences(tokens, self.render_phonemes)
                        for _, ps, tks in pipeline.en_tokenize(sentence) if ps]
            phonemes, _ = pipeline.g2p(_MARKUP_LINK.sub(r"\1", text))  # espeak reads no misaki markup
        return [Chunk(ps) for sentence in _phoneme_sentences(phonemes, self.render_phonemes)
                for ps in _split_phonemes(sentence)]

    def _voice(self, voice: str | None = None) -> tuple[torch.Tensor, float]:
        """The pack to speak with: the engine's voice, or ``voice`` (a voice spec) from the bounded cache."""
        with self._lock:
            pack, speed, current = self._pack, self.speed, self.voice_spec
        if voice and voice != current:
            return self.voice_packs.get(voice), speed
        if pack is None:
            raise EngineUnavailable("no voice set")
        return pack, speed

    def render(self, chunks: Sequence[str], cancel: threading.Event | None = None, urgent: bool = False,
               *, voice: str | None = None, speed: float | None = None) -> np.ndarray:
        """Phoneme chunks -> mono float32 audio at 24 kHz (empty array when nothing is voiced).

        Several threads may render at once (see ``lanes``). An ``urgent`` render makes the others wait between
        model blocks until it is done. Raises ``RenderCancelled`` when ``cancel`` is set.
        """
        pieces = self._render_chunks(chunks, cancel, urgent, voice=voice, speed=speed)
        if not pieces:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([audio for audio, _ in pieces])

    def speak(self, text: str, cancel: threading.Event | None = None, urgent: bool = False,
              on_chunk: ChunkSink | None = None, *, voice: str | None = None,
              plan: Sequence[Chunk] | None = None, lang: str | None = None) -> Speech:
        """Text -> audio and word timings; ``on_chunk`` gets each chunk's audio as soon as it is rendered.
        ``plan``: ``self.plan(text)`` when the caller already made it (to see how many chunks are coming)."""
        plan = self.plan(text, lang) if plan is None else plan
        pieces = self._render_chunks([c.phonemes for c in plan], cancel, urgent, on_chunk, voice=voice)
        return _speech(plan, pieces, text)

    def _render_chunks(self, chunks: Sequence[str], cancel: threading.Event | None, urgent: bool,
                       on_chunk: ChunkSink | None = None, *, voice: str | None = None,
                       speed: float | None = None) -> list[tuple[np.ndarray, list[int]]]:
        """Each chunk's audio and predicted durations (frames per input symbol, pads included). ``speed``: this
        render's own speed instead of the engine's (the OpenAI-compatible API's ``speed``)."""
        pack, engine_speed = self._voice(voice)
        speed = engine_speed if speed is None else speed
        with self._renders:
            self._running += 1
            self._urgent += urgent
            sharing = self._urgent if urgent else self._running
        pieces: list[tuple[np.ndarray, list[int]]] = []
        _current.control = _Control(self, cancel, urgent)
        try:
            if self.device == "cpu":  # a render alone uses every core; side by side, one core each
                threads = self._threads(sharing)
                if torch.get_num_threads() != threads:  # per thread: torch keeps OpenMP's count per thread
                    torch.set_num_threads(threads)
            with torch.inference_mode(), self._autocast():
                for index, phonemes in enumerate(chunks):
                    self._yield(cancel, urgent)
                    output = self.pipeline.infer(self.model, phonemes[:MAX_PHONEMES], pack, speed)
                    audio = _to_numpy(output.audio)
                    durations = [] if output.pred_dur is None else [int(d) for d in output.pred_dur.tolist()]
                    if index and mark_of(chunks[index - 1]) is not Mark.SENTENCE:
                        audio, durations = _trim_lead(audio, durations)
                    if index < len(chunks) - 1:
                        audio = _trim_seam(audio, durations, phonemes)
                    pieces.append((audio, durations))
                    if on_chunk is not None:
                        on_chunk(audio)
        finally:
            _current.control = None
            with self._renders:
                self._running -= 1
                self._urgent -= urgent
                self._renders.notify_all()
        release_free_heap()
        return pieces

    def release_memory(self) -> None:
        """The queue drained: collect Python's garbage and give the heap's free pages back to the OS
        (``malloc_trim`` on glibc), so a burst's working memory does not stay resident while nothing renders."""
        gc.collect()
        release_free_heap()

    def use_fused_vocoder(self, mode: str) -> bool:
        """``auto``/``on``: route the generator's AdaIN + Snake chains through ``tts.fused_vocoder`` (CPU only;
        when the kernel cannot be built, say why and keep kokoro's forward); ``off``: kokoro's forward."""
        from tts import fused_vocoder

        mode = mode.lower()
        if mode == "off" or self.device != "cpu":
            fused_vocoder.uninstall(self.model)
            self.fused_vocoder = False
            return False
        reason = fused_vocoder.install(self.model)
        if reason:
            fused_vocoder.uninstall(self.model)
            log.log(logging.WARNING if mode == "on" else logging.INFO,
                    "fused vocoder kernel unavailable (%s); using kokoro's own forward", reason)
        self.fused_vocoder = not reason
        return self.fused_vocoder

    def _autocast(self) -> Any:
        """bf16 autocast for the ``bf16`` precision; a no-op context for fp32."""
        if self.precision == "bf16":
            return torch.autocast(device_type="cuda" if self.device.startswith("cuda") else "cpu",
                                  dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _yield(self, cancel: threading.Event | None, urgent: bool) -> None:
        """Between model blocks: stop when cancelled; a non-urgent render waits while an urgent one runs."""
        if cancel is not None and cancel.is_set():
            raise RenderCancelled("render cancelled")
        if urgent or not self._urgent:
            return
        with self._renders:
            while self._urgent:
                self._renders.wait(0.05)
                if cancel is not None and cancel.is_set():
                    raise RenderCancelled("render cancelled")

    def speak_batch(self, texts: Sequence[str], voices: Sequence[str | None] | None = None,
                    langs: Sequence[str | None] | None = None) -> list[Speech | Exception]:
        """``speak`` for several texts in shared forward passes; a failure stays that text's."""
        voices = list(voices) if voices is not None else [None] * len(texts)
        langs = list(langs) if langs is not None else [None] * len(texts)
        plans: list[list[Chunk] | Exception] = [_try(lambda t=text, c=code: self.plan(t, c))
                                                for text, code in zip(texts, langs, strict=True)]
        good = [i for i, plan in enumerate(plans) if not isinstance(plan, Exception)]
        rendered = self._render_batch_pieces([[c.phonemes for c in plans[i]] for i in good],  # type: ignore[union-attr]
                                             [voices[i] for i in good])
        results: list[Speech | Exception] = list(plans)  # type: ignore[arg-type]
        for i, pieces in zip(good, rendered, strict=True):
            plan = plans[i]
            assert not isinstance(plan, Exception)
            results[i] = pieces if isinstance(pieces, Exception) else _speech(plan, pieces, texts[i])
        return results

    def _render_batch_pieces(self, messages: Sequence[Sequence[str]], voices: Sequence[str | None] | None = None
                             ) -> list[list[tuple[np.ndarray, list[int]]] | Exception]:
        from tts.batched import forward_batch, phoneme_ids

        voices = list(voices) if voices is not None else [None] * len(messages)
        items = [(m, c[:MAX_PHONEMES]) for m, chunks in enumerate(messages) for c in chunks]
        audio: dict[int, tuple[np.ndarray, list[int]]] = {}
        try:
            packs = [self._voice(v) for v in voices]  # a missing pack fails only its message (retry below)
            speed = packs[0][1] if packs else 1.0
            with torch.inference_mode(), self._autocast():
                for group in batch_groups([len(c) for _, c in items], self.max_batch, CUDA_BATCH_PHONEMES):
                    refs = torch.cat([packs[items[i][0]][0][len(items[i][1]) - 1] for i in group]).to(self.device)
                    outputs = forward_batch(self.model, [phoneme_ids(self.model, items[i][1]) for i in group],
                                            refs, speed)
                    for i, (wave, durations) in zip(group, outputs, strict=True):
                        audio[i] = (_to_numpy(wave), [int(d) for d in durations.tolist()])
        except Exception as exc:
            log.warning("batched render failed (%s: %s); rendering one message at a time", type(exc).__name__, exc)
            return [_try(lambda chunks=chunks, v=v: self._render_chunks(chunks, None, False, voice=v))
                    for chunks, v in zip(messages, voices, strict=True)]
        return [[audio[i] for i, (owner, _) in enumerate(items) if owner == m] for m in range(len(messages))]

    def synthesize(self, text: str, cancel: threading.Event | None = None, urgent: bool = False,
                   *, voice: str | None = None, lang: str | None = None) -> np.ndarray:
        return self.render([c.phonemes for c in self.plan(text, lang)], cancel, urgent, voice=voice)


def _speech(plan: Sequence[Chunk], pieces: Sequence[tuple[np.ndarray, list[int]]], text: str) -> Speech:
    """Join rendered chunks and time their words."""
    timed = [TimedChunk(c.tokens, c.phonemes[:MAX_PHONEMES], durations, audio.size / SAMPLE_RATE)
             for c, (audio, durations) in zip(plan, pieces, strict=True)]
    audio = np.concatenate([a for a, _ in pieces]) if pieces else np.zeros(0, dtype=np.float32)
    return Speech(audio, build_captions(timed, text))


def _trim_seam(audio: np.ndarray, durations: Sequence[int], phonemes: str) -> np.ndarray:
    """A piece that ends mid-sentence (cut at a comma or between words to bound a render, not at a sentence
    end) keeps only ``SEAM_PAD_FRAMES`` of its end pad: kokoro closes every piece with ~0.4 s of silence and
    opens the next with ~0.3 s, a pause where the line has none. The words' timings are untouched (they end
    before the end pad); the next piece starts where this one now ends."""
    if mark_of(phonemes) is Mark.SENTENCE or len(durations) < 3:
        return audio
    keep = (sum(durations) - durations[-1] + min(durations[-1], SEAM_PAD_FRAMES)) * _FRAME_SAMPLES
    return audio[:keep] if 0 < keep < audio.size else audio


def _trim_lead(audio: np.ndarray, durations: list[int]) -> tuple[np.ndarray, list[int]]:
    """The piece after a mid-sentence cut keeps only ``SEAM_PAD_FRAMES`` of its start pad (kokoro opens every
    piece with ~0.35 s of silence); its start-pad duration shrinks with it, so its words' timings stay right."""
    if len(durations) < 3:
        return audio, durations
    drop = durations[0] - min(durations[0], SEAM_PAD_FRAMES)
    if drop <= 0 or drop * _FRAME_SAMPLES >= audio.size:
        return audio, durations
    return audio[drop * _FRAME_SAMPLES:], [durations[0] - drop, *durations[1:]]


def _to_numpy(audio: torch.Tensor) -> np.ndarray:
    return audio.detach().float().cpu().numpy().reshape(-1)


def _try(render: Any) -> Any:
    try:
        return render()
    except Exception as exc:  # reported per message by the caller
        return exc


_LIBC: Any = None


def _glibc() -> Any:
    """glibc through ctypes (None elsewhere: musl, macOS, Windows), loaded once."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            libc = ctypes.CDLL("libc.so.6")
            libc.malloc_trim, libc.mallopt  # noqa: B018  (both exist only in glibc)
            _LIBC = libc
        except (OSError, AttributeError):
            _LIBC = False
    return _LIBC or None


def limit_malloc_arenas(arenas: int = 1) -> None:
    """Cap glibc's malloc arenas (``M_ARENA_MAX``). Each thread that allocates may get an arena of its own
    (up to 8 per core), and freed render buffers stay in it. One arena: what one lane's render frees, the other
    lane reuses, so two renders side by side peak lower (1,166 vs 1,226 MiB in the probe, bench/README.md
    "Memory"); torch allocates per operation, not per element, so the shared lock costs nothing measurable.
    Threads that allocated before this call keep the arenas they have (glibc only stops making new ones)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(-8, arenas)  # M_ARENA_MAX


def limit_onednn_cache(entries: int = ONEDNN_CACHE_ENTRIES) -> None:
    """Bound oneDNN's primitive cache (``ONEDNN_PRIMITIVE_CACHE_CAPACITY``, default 1024 entries) unless the
    environment sets it. Every convolution gets a primitive per input length, and chat lines all differ in
    length, so the default cache filled with entries that are almost never used again (~80 MB of RSS after 40
    messages, bench/README.md "Memory"). oneDNN reads the variable when it makes its first primitive, so this
    must run before the first convolution (the engine calls it before loading)."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(entries))


def release_free_heap() -> None:
    """Give memory that a render freed back to the OS (``malloc_trim``): a render's activations are tens of
    MB, and without this the process keeps its high-water mark in every arena."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _load_kmodel(config_path: str, model_path: str) -> Any:
    """The model from local files, its weights held once (``tts.model_load``); kokoro's own ``KModel`` load
    (weights held twice while it loads) when that way fails, e.g. with a checkpoint of another layout."""
    from kokoro import KModel

    from tts.model_load import load_kmodel

    try:
        return load_kmodel(REPO_ID, config_path, model_path)
    except Exception as exc:
        log.warning("lean model load failed (%s: %s); loading with KModel", type(exc).__name__, exc)
    return KModel(repo_id=REPO_ID, config=config_path, model=model_path)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _make_pipeline(lang_code: str, model: Any) -> tuple[Any, str]:
    """A KPipeline for ``lang_code``; for English, degrade gracefully when spaCy's model is unavailable."""
    from kokoro import KPipeline

    lang_code = lang_code.lower()
    if lang_code == "j":
        prepare_japanese()  # offline: no pyopenjtalk dictionary, no unidic download
    if lang_code not in {"a", "b"}:
        kind = {"j": "misaki-ja", "z": "misaki-zh"}.get(lang_code, "espeak")
        return KPipeline(lang_code=lang_code, repo_id=REPO_ID, model=model), kind
    try:
        return KPipeline(lang_code=lang_code, repo_id=REPO_ID, model=model), "misaki"
    except (Exception, SystemExit) as exc:  # spacy.cli.download may sys.exit when offline
        log.warning("misaki English G2P unavailable (%s: %s); using its lexicon with a rule tokenizer",
                    type(exc).__name__, exc)
    # Build the pipeline through a language that needs no download, then give it the English G2P.
    pipeline = KPipeline(lang_code="e", repo_id=REPO_ID, model=model)
    pipeline.lang_code = lang_code
    try:
        pipeline.g2p = g2p.lexicon_g2p(british=lang_code == "b")
        return pipeline, "misaki-lexicon"
    except Exception as exc:
        log.warning("misaki lexicon G2P failed too (%s); falling back to espeak-ng phonemes", exc)
    pipeline.g2p = g2p.espeak_g2p(british=lang_code == "b")
    return pipeline, "espeak"


def _sentences(tokens: Sequence[Any], max_piece: int = 0) -> list[list[Any]]:
    """misaki tokens cut where ``core.speech_chunks`` says (a short line stays whole), each piece at most
    ``max_piece`` phonemes (0: no cap)."""
    pieces = [Piece(len(t.phonemes or "") + (1 if t.whitespace else 0), mark_of(t.phonemes or t.text),
                    is_closer(t.text)) for t in tokens]
    return split_at(tokens, cap_cuts(pieces, cut_points(pieces), max_piece))


def _phoneme_sentences(phonemes: str, max_piece: int = 0) -> list[str]:
    """An espeak phoneme string cut the same way (its words end in the punctuation espeak kept)."""
    words = phonemes.split()
    pieces = [Piece(len(w) + 1, mark_of(w), is_closer(w)) for w in words]
    return [" ".join(group) for group in split_at(words, cap_cuts(pieces, cut_points(pieces), max_piece))]


def _split_phonemes(phonemes: str) -> list[str]:
    """Cut a long phoneme string at pauses so every chunk fits Kokoro's 510-symbol context."""
    chunks: list[str] = []
    current = ""
    for piece in _SENTENCE_END.split(phonemes.strip()):
        while len(piece) > MAX_PHONEMES:
            cut = piece.rfind(" ", 0, MAX_PHONEMES)
            cut = cut if cut > 0 else MAX_PHONEMES
            if current:
                chunks.append(current)
                current = ""
            chunks.append(piece[:cut].strip())
            piece = piece[cut:].strip()
        candidate = f"{current} {piece}".strip()
        if len(candidate) > MAX_PHONEMES:
            chunks.append(current)
            current = piece
        else:
            current = candidate
    if current:
        chunks.append(current)
    return [c for c in chunks if c]
