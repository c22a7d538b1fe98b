"""Load Kokoro's weights without holding them twice.

``KModel(config=..., model=path)`` first builds every layer with random weights (~312 MB for Kokoro-82M),
then ``torch.load``s the checkpoint (another ~312 MB) and copies it in: for a moment the process holds the
model twice, and that moment was the server's high-water mark (RSS peaked at 1,261 MiB in KModel's step, 729
here; bench/README.md, "Memory"). Here the layers are built with their parameters on torch's ``meta`` device (shapes,
no storage), kokoro's own read of the checkpoint is memory-mapped and never touched, and the tensors of one
ordinary ``torch.load`` become the parameters (``load_state_dict(assign=True)``). Same tensors, same values,
same model: the audio is bit-identical (tests/tts/test_model_load.py).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch.overrides import TorchFunctionMode


class _ParametersOnMeta(TorchFunctionMode):
    """``torch.empty`` without a device goes to ``meta``: that is how torch's layers (Linear, Conv, LSTM,
    Embedding, LayerNorm) allocate their parameters. Buffers made with ``arange``/``zeros`` (e.g. ALBERT's
    non-persistent ``position_ids``, which no checkpoint holds) stay real; ``torch.load`` names its device."""

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is torch.empty and kwargs.get("device") is None:
            kwargs["device"] = "meta"
        return func(*args, **kwargs)


def load_kmodel(repo_id: str, config_path: str, model_path: str) -> Any:
    """A ``kokoro.KModel`` on CPU with the checkpoint's tensors as its parameters (not copies of them).

    Raises when the checkpoint does not fill every parameter; the caller falls back to ``KModel`` itself.
    """
    from kokoro import KModel
    from torch.utils.serialization import config as serialization

    with warnings.catch_warnings():
        # kokoro's own load copies into meta parameters (a no-op, which torch warns about once per tensor)
        warnings.simplefilter("ignore")
        with _ParametersOnMeta(), serialization.patch("load.mmap", True):  # type: ignore[attr-defined]
            model = KModel(repo_id=repo_id, config=config_path, model=model_path)
    state: dict[str, dict[str, torch.Tensor]] = torch.load(model_path, map_location="cpu", weights_only=True)
    for key in list(state):
        part = state.pop(key)  # drop each part's references as soon as it is assigned
        if not hasattr(model, key):
            raise ValueError(f"checkpoint part {key!r} is not a KModel attribute")
        if part and all(name.startswith("module.") for name in part):  # saved from DataParallel (kokoro strips it too)
            part = {name[len("module."):]: tensor for name, tensor in part.items()}
        # contiguous like the parameters KModel copies into (some ALBERT/LSTM weights are saved transposed)
        getattr(model, key).load_state_dict({name: t.contiguous() for name, t in part.items()}, assign=True)
        del part
    left = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise ValueError(f"checkpoint leaves {len(left)} tensor(s) unset, e.g. {left[0]}")
    return model
