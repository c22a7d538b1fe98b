"""The lean model load (``tts.model_load``) gives the same model as kokoro's own ``KModel`` load.

Same parameter and buffer names, bit-identical values, contiguous like KModel's, and bit-identical audio
(seeded: the harmonic source draws noise). When the lean load fails, the engine falls back to ``KModel``.
The "tiny" model keeps Kokoro's full decoder, so building it is most of these tests' time: kokoro's own load
runs once, through the engine's fallback, and serves as the reference.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch

from tts.engine import REPO_ID, _load_kmodel
from tts.model_load import load_kmodel


def _tensors(model: Any) -> dict[str, torch.Tensor]:
    return {**dict(model.named_parameters()), **dict(model.named_buffers())}


def _audio(model: Any, model_dir: Path) -> torch.Tensor:
    ref_s = torch.load(model_dir / "voices" / "af_heart.pt", weights_only=True)[4]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # many times faster than 2 threads on a busy 2-core machine; the same for both
    try:
        torch.manual_seed(0)
        with torch.inference_mode():
            return model("hˈɛlO!", ref_s)
    finally:
        torch.set_num_threads(threads)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _lean_fails(*_args: Any) -> Any:
    raise ValueError("checkpoint leaves 1 tensor(s) unset")


@pytest.fixture(scope="module")
def fallback(tiny_model_dir: Path) -> tuple[Any, list[logging.LogRecord]]:
    """The engine's loader with the lean load failing: kokoro's ``KModel`` load, and what the engine logged."""
    handler = _Records()
    logger = logging.getLogger("tts.engine")
    logger.addHandler(handler)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("tts.model_load.load_kmodel", _lean_fails)
            model = _load_kmodel(str(tiny_model_dir / "config.json"), str(tiny_model_dir / "kokoro-v1_0.pth"))
    finally:
        logger.removeHandler(handler)
    return model.eval(), handler.records


def test_lean_load_is_kokoros_model_held_once(tiny_model_dir: Path, fallback: tuple[Any, list[Any]]) -> None:
    reference = fallback[0]
    lean = load_kmodel(REPO_ID, str(tiny_model_dir / "config.json"), str(tiny_model_dir / "kokoro-v1_0.pth")).eval()
    ours, theirs = _tensors(lean), _tensors(reference)
    assert ours.keys() == theirs.keys()
    for name, tensor in ours.items():
        assert not tensor.is_meta and tensor.is_contiguous(), name
        assert tensor.dtype == theirs[name].dtype and torch.equal(tensor, theirs[name]), name
    assert {p.requires_grad for p in lean.parameters()} == {p.requires_grad for p in reference.parameters()}
    assert torch.equal(_audio(lean, tiny_model_dir), _audio(reference, tiny_model_dir))


def test_dataparallel_prefixes_are_stripped(tiny_model_dir: Path, tmp_path: Path,
                                            fallback: tuple[Any, list[Any]]) -> None:
    state = torch.load(tiny_model_dir / "kokoro-v1_0.pth", weights_only=True)
    prefixed = tmp_path / "prefixed.pth"
    torch.save({part: {f"module.{k}": v for k, v in tensors.items()} for part, tensors in state.items()}, prefixed)
    lean = load_kmodel(REPO_ID, str(tiny_model_dir / "config.json"), str(prefixed))
    expected = _tensors(fallback[0])
    assert all(torch.equal(t, expected[name]) for name, t in _tensors(lean).items())


def test_a_checkpoint_that_does_not_fill_the_model_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    state = torch.load(tiny_model_dir / "kokoro-v1_0.pth", weights_only=True)
    del state["bert_encoder"]  # kokoro would keep that layer as randomly initialised
    partial = tmp_path / "partial.pth"
    torch.save(state, partial)
    with pytest.raises(ValueError, match="unset"):
        load_kmodel(REPO_ID, str(tiny_model_dir / "config.json"), str(partial))


def test_the_engine_falls_back_to_kmodel(fallback: tuple[Any, list[logging.LogRecord]]) -> None:
    model, records = fallback
    assert any("lean model load failed" in r.getMessage() for r in records)
    assert not any(t.is_meta for t in _tensors(model).values())
