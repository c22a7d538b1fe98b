"""A small random-initialised Kokoro model for tests and the CI-sized benchmark.

Real weights come from the Hugging Face hub, which tests cannot reach. This builds a ``config.json``, a
``kokoro-v1_0.pth`` and voice packs in the exact layout of the real model directory, from kokoro's own
modules, so the whole real pipeline (G2P -> KModel -> audio) runs. Kokoro hard-codes the style size (128)
and the decoder's channel sizes, so the ALBERT part is shrunk, and the vocoder keeps one residual block per
upsampling stage (kernel 3) instead of three (kernels 3, 7, 11): the same code path, the same audio length,
under half the render time (renders dominate the test suite). The duration projection is zeroed with a
bias of -4, giving one frame per phoneme, which keeps synthesis fast and durations predictable.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

#: Kokoro's phoneme alphabet (the symbols misaki emits); ids are assigned in this order from 1.
PHONEME_SYMBOLS = (
    ';:,.!?—…"()“” ̃ʣʥʦʨᵝꭧAIOQSTWYᵊabcdefhijklmnopqrstuvwxyzɑɐɒæβɔɕçɖðʤəɚɛɜɟɡɥɨɪʝɯɰŋɳɲɴøɸθœɹɾɻʁɽʂʃʈʧʊʋʌɣɤχʎʒʔ'
    "ˈˌːʰʲ↓→↗↘ᵻ"
)

TINY_CONFIG: dict = {
    "istftnet": {
        "upsample_kernel_sizes": [20, 12],
        "upsample_rates": [10, 6],
        "gen_istft_hop_size": 5,
        "gen_istft_n_fft": 20,
        # one residual block per stage (the real model: kernels 3, 7, 11); the noise branch keeps 7 and 11
        "resblock_dilation_sizes": [[1, 3, 5]],
        "resblock_kernel_sizes": [3],
        "upsample_initial_channel": 512,
    },
    "dim_in": 64,
    "dropout": 0.2,
    "hidden_dim": 512,
    "max_conv_dim": 512,
    "max_dur": 50,
    "multispeaker": True,
    "n_layer": 1,
    "n_mels": 80,
    "n_token": 178,
    "style_dim": 128,
    "text_encoder_kernel_size": 5,
    "plbert": {
        "hidden_size": 64,
        "num_attention_heads": 2,
        "intermediate_size": 128,
        "max_position_embeddings": 512,
        "num_hidden_layers": 1,
        "dropout": 0.1,
    },
}

#: Voice ids written by ``build_tiny_model`` (the ones settings.yaml's default ``voices`` tables use).
TINY_VOICES = ("am_adam", "am_eric", "am_michael", "af_heart", "af_bella", "bf_emma", "bm_george",
               # the default ``languages.voices`` and a second voice for Spanish per-user mixes
               "ef_dora", "em_alex", "ff_siwis", "if_sara", "pf_dora", "hf_alpha", "jf_alpha", "zf_xiaobei")


def build_tiny_model(directory: str | Path, *, seed: int = 0, full_size: bool = False) -> Path:
    """Write a random model directory (config.json, kokoro-v1_0.pth, voices/*.pt) and return its path.

    ``full_size`` keeps the real Kokoro-82M architecture (for benchmarks without real weights).
    """
    from kokoro import KModel

    directory = Path(directory)
    (directory / "voices").mkdir(parents=True, exist_ok=True)
    config = json.loads(json.dumps(TINY_CONFIG))
    if full_size:
        config["n_layer"] = 3
        config["plbert"] = {
            "hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 2048,
            "max_position_embeddings": 512, "num_hidden_layers": 12, "dropout": 0.1,
        }
        config["istftnet"].update(resblock_kernel_sizes=[3, 7, 11], resblock_dilation_sizes=[[1, 3, 5]] * 3)
    config["vocab"] = {symbol: index for index, symbol in enumerate(PHONEME_SYMBOLS, start=1)}
    config_path = directory / "config.json"
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")

    torch.manual_seed(seed)
    empty = directory / "empty.pth"
    torch.save({}, empty)
    model = KModel(repo_id="hexgrad/Kokoro-82M", config=str(config_path), model=str(empty))
    empty.unlink()
    with torch.no_grad():
        projection = model.predictor.duration_proj.linear_layer
        projection.weight.zero_()
        projection.bias.fill_(-4.0)
    parts = ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")
    torch.save({name: getattr(model, name).state_dict() for name in parts}, directory / "kokoro-v1_0.pth")

    generator = torch.Generator().manual_seed(seed + 1)
    for voice_id in TINY_VOICES:
        pack = torch.randn(510, 1, 256, generator=generator) * 0.1
        torch.save(pack, directory / "voices" / f"{voice_id}.pt")
    return directory
