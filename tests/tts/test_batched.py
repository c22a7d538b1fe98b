"""The batched forward, weight-norm folding, cancelling and pausing renders: tiny model, real kokoro code."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from tts import batched
from tts.engine import MODEL_FILE, REPO_ID, EngineConfig, KokoroEngine, RenderCancelled, _prepare_model

pytestmark = pytest.mark.slow  # batched forwards, cancelled and paused renders on the model

LINES = ["Hello there!", "What a clutch play, how did you even hit that?", "ok", "Good night everyone, see you."]


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> KokoroEngine:
    return KokoroEngine.load(EngineConfig(model_dir=str(tiny_model_dir), device="cpu", voice="af_heart"))


def test_a_batch_reproduces_each_single_forward(engine: KokoroEngine) -> None:
    chunks = [c for line in LINES for c in engine.phonemize(line)]
    sequences = [batched.phoneme_ids(engine.model, c) for c in chunks]
    assert len({len(s) for s in sequences}) > 1  # really padded
    assert engine._pack is not None
    refs = torch.cat([engine._pack[len(c) - 1] for c in chunks])
    with torch.inference_mode():
        torch.manual_seed(7)  # the harmonic source draws noise: same seed, same draws, same order
        singles = [engine.model.forward_with_tokens(torch.tensor([s]), refs[i : i + 1], 1.0)
                   for i, s in enumerate(sequences)]
        torch.manual_seed(7)
        together = batched.forward_batch(engine.model, sequences, refs, 1.0)
    for (audio, durations), (batch_audio, batch_durations) in zip(singles, together, strict=True):
        assert torch.equal(durations.reshape(-1), batch_durations)
        assert audio.shape == batch_audio.shape
        assert torch.allclose(audio, batch_audio, atol=1e-4 * float(audio.abs().max()))


def test_speak_batch_matches_render_and_isolates_failures(engine: KokoroEngine, monkeypatch: Any) -> None:
    texts = LINES[:2]
    messages = [engine.phonemize(line) for line in texts]
    torch.manual_seed(1)
    one_by_one = [engine.render(m) for m in messages]
    engine.max_batch = 4
    try:
        torch.manual_seed(1)
        together = engine.speak_batch(texts)
        for single, result in zip(one_by_one, together, strict=True):
            assert not isinstance(result, Exception) and result.audio.shape == single.shape

        def broken_batch(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("batch blew up")

        real_render = engine._render_chunks

        bad = engine.phonemize("Bad.")

        def picky_render(chunks: Any, *args: Any, **kwargs: Any) -> Any:
            if list(chunks) == bad:
                raise ValueError("this message cannot be said")
            return real_render(chunks, *args, **kwargs)

        monkeypatch.setattr(batched, "forward_batch", broken_batch)
        monkeypatch.setattr(engine, "_render_chunks", picky_render)
        results = engine.speak_batch([texts[0], "Bad.", texts[1]])
        assert not isinstance(results[0], Exception) and results[0].audio.size > 0
        assert isinstance(results[1], ValueError)
        assert not isinstance(results[2], Exception) and results[2].audio.size > 0
    finally:
        engine.max_batch = 1


def test_folding_weight_norm_keeps_the_audio_bit_identical(tiny_model_dir: Path) -> None:
    from kokoro import KModel

    def load() -> Any:
        return KModel(repo_id=REPO_ID, config=str(tiny_model_dir / "config.json"),
                      model=str(tiny_model_dir / MODEL_FILE)).eval()

    plain, folded = load(), load()
    _prepare_model(folded)
    assert not any(name.endswith("weight_g") for name, _ in folded.named_parameters())
    ids = torch.tensor([batched.phoneme_ids(plain, "hˈɛloʊ ðˈɛɹ")])
    style = torch.randn(1, 256, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        torch.manual_seed(0)
        expected, _ = plain.forward_with_tokens(ids, style, 1.0)
        torch.manual_seed(0)
        actual, _ = folded.forward_with_tokens(ids, style, 1.0)
    assert torch.equal(expected, actual)


def test_a_cancelled_render_stops(engine: KokoroEngine) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(RenderCancelled):
        engine.synthesize("This will never be heard.", cancel)
    assert engine._running == 0  # bookkeeping restored


def test_an_urgent_render_pauses_the_others(engine: KokoroEngine) -> None:
    chunks = engine.phonemize("A long enough line to still be rendering when we look.")
    done = threading.Event()

    def background() -> None:
        engine.render(chunks)
        done.set()

    with engine._renders:
        engine._urgent += 1  # as if an urgent render were running
    try:
        worker = threading.Thread(target=background)
        worker.start()
        time.sleep(1.0)
        assert not done.is_set()  # parked at its first model block
    finally:
        with engine._renders:
            engine._urgent -= 1
            engine._renders.notify_all()
    worker.join(timeout=60)
    assert done.is_set()


def test_batch_groups_cap_items_and_phonemes() -> None:
    from tts.batched import batch_groups

    groups = batch_groups([90, 80, 300, 100, 95, 85, 500, 70, 60], max_batch=8, max_phonemes=400)
    assert sorted(i for g in groups for i in g) == list(range(9))  # every chunk once
    assert all(len(g) == 1 or sum([90, 80, 300, 100, 95, 85, 500, 70, 60][i] for i in g) <= 400 for g in groups)
    assert [6] in groups  # longer than the cap: alone
    assert batch_groups([10] * 20, max_batch=8, max_phonemes=10**6) == [list(range(0, 8)), list(range(8, 16)),
                                                                        list(range(16, 20))]
