"""Several phoneme chunks through Kokoro in one forward pass, each reproducing ``KModel.forward_with_tokens``.

Kokoro's ``forward_with_tokens`` handles one sequence: its prosody LSTMs run unpacked and the decoder's
instance norms take their statistics over the whole time axis, so zero-padding a batch would change every
item. This forward pads the batch and masks it instead:

- ALBERT gets an attention mask; the duration encoder, text encoder and every LSTM run on packed sequences;
- every instance norm takes mean and variance over the item's own frames only;
- every input to a convolution (plain, transposed or dilated) is zeroed beyond the item's end, which is what
  the convolution's own zero padding sees in the single-item run, so valid outputs are the same;
- the boundary-sensitive signal steps (the harmonic source with its interpolation and random noise, the STFT
  with reflection padding, the inverse STFT) run per item, in item order, so a seeded run draws the same noise.

Per item the result equals the single-item forward up to float rounding: same durations, audio within ~1e-5
(checked by tests/tts/test_batched.py on the tiny model and by bench/verify_batched.py on real weights).

It pays where one big kernel beats several small ones (GPUs); on CPU the decoder's convolutions already fill
the cores and batching is slower (see bench/README.md), so the engine batches only on CUDA.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_RSQRT2 = 2 ** -0.5


def batch_groups(lengths: Sequence[int], max_batch: int, max_phonemes: int) -> list[list[int]]:
    """Indices grouped for forward passes: similar lengths together (sorted), at most ``max_batch`` items and
    ``max_phonemes`` phonemes per group (GPU memory grows with the batch); an item longer than that goes alone."""
    groups: list[list[int]] = []
    for index in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        group = groups[-1] if groups else None
        if group and len(group) < max_batch and sum(lengths[i] for i in group) + lengths[index] <= max_phonemes:
            group.append(index)
        else:
            groups.append([index])
    return groups


def phoneme_ids(model: Any, phonemes: str) -> list[int]:
    """``KModel.forward``'s tokenisation: known symbols only, wrapped in the pad token 0."""
    ids = [i for i in (model.vocab.get(p) for p in phonemes) if i is not None]
    return [0, *ids, 0]


def _lengths_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """``[B, 1, size]`` float mask: 1 on each item's frames, 0 on padding."""
    frames = torch.arange(size, device=lengths.device)
    return (frames[None, :] < lengths[:, None]).to(torch.float32).unsqueeze(1)


def _packed_lstm(lstm: Any, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """A batch-first LSTM over each item's own length; zeros beyond it. ``x``: ``[B, T, C]``."""
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out


def _adain(norm: Any, x: torch.Tensor, s: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``AdaIN1d`` with the instance norm's statistics taken over valid frames only."""
    h = norm.fc(s)
    h = h.view(h.size(0), h.size(1), 1)
    gamma, beta = torch.chunk(h, chunks=2, dim=1)
    instance = norm.norm
    count = mask.sum(dim=-1, keepdim=True)
    mean = (x * mask).sum(dim=-1, keepdim=True) / count
    centred = x - mean
    var = (centred * centred * mask).sum(dim=-1, keepdim=True) / count
    normed = centred * torch.rsqrt(var + instance.eps)
    if instance.affine:
        normed = normed * instance.weight[None, :, None] + instance.bias[None, :, None]
    return (1 + gamma) * normed + beta


def _adain_resblk(block: Any, x: torch.Tensor, s: torch.Tensor, mask: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``AdainResBlk1d`` (prosody and decoder blocks); returns the output and its (maybe upsampled) mask."""
    h = block.actv(_adain(block.norm1, x, s, mask))
    out_mask = mask
    if block.upsample_type != "none":
        h = block.pool(h * mask)
        out_mask = mask.repeat_interleave(2, dim=-1)
    h = block.conv1(block.dropout(h) * out_mask)
    h = block.actv(_adain(block.norm2, h, s, out_mask))
    h = block.conv2(block.dropout(h) * out_mask)
    return (h + block._shortcut(x)) * _RSQRT2, out_mask


def _adain_resblock1(block: Any, x: torch.Tensor, s: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``AdaINResBlock1`` (the generator's Snake residual blocks)."""
    for c1, c2, n1, n2, a1, a2 in zip(block.convs1, block.convs2, block.adain1, block.adain2, block.alpha1,
                                      block.alpha2, strict=True):
        xt = _adain(n1, x, s, mask)
        xt = xt + (1 / a1) * (torch.sin(a1 * xt) ** 2)
        xt = c1(xt * mask)
        xt = _adain(n2, xt, s, mask)
        xt = xt + (1 / a2) * (torch.sin(a2 * xt) ** 2)
        xt = c2(xt * mask)
        x = xt + x
    return x


def _generator(gen: Any, x: torch.Tensor, s: torch.Tensor, f0_curve: torch.Tensor, frames: torch.Tensor,
               mask: torch.Tensor) -> list[torch.Tensor]:
    """``Generator.forward`` over a padded batch; ``frames`` are the items' F0 lengths (2 x alignment frames)."""
    hars = []
    for i, length in enumerate(frames.tolist()):  # per item: interpolation, random noise and STFT padding
        f0 = gen.f0_upsamp(f0_curve[i : i + 1, :length][:, None]).transpose(1, 2)
        har_source, _, _ = gen.m_source(f0)
        har_spec, har_phase = gen.stft.transform(har_source.transpose(1, 2).squeeze(1))
        hars.append(torch.cat([har_spec, har_phase], dim=1)[0].transpose(0, 1))
    har = nn.utils.rnn.pad_sequence(hars, batch_first=True).transpose(1, 2)
    for i in range(gen.num_upsamples):
        x = F.leaky_relu(x, negative_slope=0.1) * mask
        x_source = gen.noise_convs[i](har)
        x = gen.ups[i](x)
        mask = mask.repeat_interleave(gen.ups[i].stride[0], dim=-1)
        if i == gen.num_upsamples - 1:
            x = gen.reflection_pad(x)
            mask = F.pad(mask, (1, 0), value=1.0)
        x_source = _adain_resblock1(gen.noise_res[i], x_source[..., : x.shape[-1]], s, mask)
        x = x + x_source
        xs = None
        for j in range(gen.num_kernels):
            y = _adain_resblock1(gen.resblocks[i * gen.num_kernels + j], x, s, mask)
            xs = y if xs is None else xs + y
        assert xs is not None
        x = xs / gen.num_kernels
    x = gen.conv_post(F.leaky_relu(x) * mask)
    spec = torch.exp(x[:, : gen.post_n_fft // 2 + 1, :])
    phase = torch.sin(x[:, gen.post_n_fft // 2 + 1 :, :])
    valid = mask[:, 0].sum(dim=-1).long().tolist()
    return [gen.stft.inverse(spec[i : i + 1, :, :n], phase[i : i + 1, :, :n]).reshape(-1)
            for i, n in enumerate(valid)]


def _decoder(dec: Any, asr: torch.Tensor, f0_curve: torch.Tensor, n_curve: torch.Tensor, s: torch.Tensor,
             frames: torch.Tensor) -> list[torch.Tensor]:
    mask = _lengths_mask(frames, asr.shape[-1])
    f0 = dec.F0_conv(f0_curve.unsqueeze(1))
    n = dec.N_conv(n_curve.unsqueeze(1))
    x, mask = _adain_resblk(dec.encode, torch.cat([asr, f0, n], dim=1), s, mask)
    asr_res = dec.asr_res(asr)
    res = True
    for block in dec.decode:
        if res:
            x = torch.cat([x, asr_res, f0, n], dim=1)
        x, mask = _adain_resblk(block, x, s, mask)
        if block.upsample_type != "none":
            res = False
    return _generator(dec.generator, x, s, f0_curve, frames * 2, mask)


@torch.no_grad()
def forward_batch(model: Any, sequences: Sequence[Sequence[int]], ref_s: torch.Tensor, speed: float = 1.0
                  ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``[model.forward_with_tokens(ids_i, ref_s[i:i+1], speed) for i]`` in one pass: (audio, durations) each.

    ``sequences`` are token ids including the leading and trailing 0 (``phoneme_ids``); ``ref_s`` is
    ``[B, 256]``, one style vector per item (``pack[len(phonemes) - 1]``).
    """
    device = model.device
    batch = len(sequences)
    lengths = torch.tensor([len(seq) for seq in sequences], dtype=torch.long, device=device)
    tokens = int(lengths.max())
    input_ids = torch.zeros((batch, tokens), dtype=torch.long, device=device)
    for i, seq in enumerate(sequences):
        input_ids[i, : len(seq)] = torch.as_tensor(seq, dtype=torch.long, device=device)
    text_mask = torch.arange(tokens, device=device)[None, :] >= lengths[:, None]  # True on padding
    ref_s = ref_s.to(device)
    s = ref_s[:, 128:]

    bert_dur = model.bert(input_ids, attention_mask=(~text_mask).int())
    d_en = model.bert_encoder(bert_dur).transpose(-1, -2)
    d = model.predictor.text_encoder(d_en, s, lengths, text_mask)  # packed LSTMs inside: batch-aware
    x = _packed_lstm(model.predictor.lstm, d, lengths)
    duration = torch.sigmoid(model.predictor.duration_proj(x)).sum(dim=-1) / speed
    pred_dur = torch.round(duration).clamp(min=1).long()
    pred_dur = pred_dur.masked_fill(text_mask, 0)
    frames = pred_dur.sum(dim=-1)
    max_frames = int(frames.max())
    alignment = torch.zeros((batch, tokens, max_frames), device=device)
    for i in range(batch):
        steps = torch.repeat_interleave(torch.arange(tokens, device=device), pred_dur[i])
        alignment[i, steps, torch.arange(steps.shape[0], device=device)] = 1
    en = d.transpose(-1, -2) @ alignment

    # prosody (F0 and energy curves): the shared LSTM packed, the residual blocks masked
    shared = _packed_lstm(model.predictor.shared, en.transpose(-1, -2), frames).transpose(-1, -2)
    curves = []
    for blocks, proj in ((model.predictor.F0, model.predictor.F0_proj), (model.predictor.N, model.predictor.N_proj)):
        h, mask = shared, _lengths_mask(frames, max_frames)
        for block in blocks:
            h, mask = _adain_resblk(block, h, s, mask)
        curves.append(proj(h).squeeze(1) * mask[:, 0])
    f0_pred, n_pred = curves

    t_en = model.text_encoder(input_ids, lengths, text_mask)
    asr = t_en @ alignment
    audio = _decoder(model.decoder, asr, f0_pred, n_pred, ref_s[:, :128], frames)
    return [(audio[i], pred_dur[i, : int(lengths[i])]) for i in range(batch)]
