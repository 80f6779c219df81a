#!/usr/bin/python3
"""Write a tiny whisper.cpp model with random weights, for plumbing tests.

    make_ggml_whisper.py OUT.bin [--seed N]

The file follows whisper.cpp's ggml layout (as its loader reads it): the
magic 0x67676d6c; eleven int32 hyper-parameters (n_vocab, n_audio_ctx,
n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state,
n_text_head, n_text_layer, n_mels, ftype); the mel filter bank (n_mel,
n_fft, then n_mel*n_fft float32); the vocabulary (count, then each token as
a uint32 length and its bytes); then every tensor as n_dims, name length,
type (0 float32, 1 float16), the dims in ggml order (fastest first), the name and the
data. English-only vocabulary size (51864) so the special tokens sit where
whisper.cpp expects them; one layer, 8-wide states, so the file is ~3 MB.

It recognises nothing: it proves that download, verification, loading and
decoding work end to end, not accuracy.
"""
import struct
import sys

import numpy as np

N_VOCAB = 51864          # English-only models (".en")
N_TEXT_TOKENS = 50256    # ids below the end-of-text token are text
N_AUDIO_CTX = 1500       # 30 s of 10 ms mel frames after the stride-2 conv
N_TEXT_CTX = 448
STATE = 8
HEADS = 1
LAYERS = 1
N_MELS = 80
N_FFT = 201


def tensors():
    """(name, shape in ggml order) of every tensor the loader expects."""
    s, m = STATE, N_MELS
    yield "encoder.positional_embedding", (s, N_AUDIO_CTX)
    yield "encoder.conv1.weight", (3, m, s)
    yield "encoder.conv1.bias", (1, s)
    yield "encoder.conv2.weight", (3, s, s)
    yield "encoder.conv2.bias", (1, s)
    yield "encoder.ln_post.weight", (s,)
    yield "encoder.ln_post.bias", (s,)
    for i in range(LAYERS):
        p = f"encoder.blocks.{i}."
        yield p + "mlp_ln.weight", (s,)
        yield p + "mlp_ln.bias", (s,)
        yield p + "mlp.0.weight", (s, 4 * s)
        yield p + "mlp.0.bias", (4 * s,)
        yield p + "mlp.2.weight", (4 * s, s)
        yield p + "mlp.2.bias", (s,)
        yield p + "attn_ln.weight", (s,)
        yield p + "attn_ln.bias", (s,)
        yield p + "attn.query.weight", (s, s)
        yield p + "attn.query.bias", (s,)
        yield p + "attn.key.weight", (s, s)
        yield p + "attn.value.weight", (s, s)
        yield p + "attn.value.bias", (s,)
        yield p + "attn.out.weight", (s, s)
        yield p + "attn.out.bias", (s,)
    yield "decoder.positional_embedding", (s, N_TEXT_CTX)
    yield "decoder.token_embedding.weight", (s, N_VOCAB)
    yield "decoder.ln.weight", (s,)
    yield "decoder.ln.bias", (s,)
    for i in range(LAYERS):
        p = f"decoder.blocks.{i}."
        for kind in ("attn", "cross_attn"):
            yield p + kind + "_ln.weight", (s,)
            yield p + kind + "_ln.bias", (s,)
            yield p + kind + ".query.weight", (s, s)
            yield p + kind + ".query.bias", (s,)
            yield p + kind + ".key.weight", (s, s)
            yield p + kind + ".value.weight", (s, s)
            yield p + kind + ".value.bias", (s,)
            yield p + kind + ".out.weight", (s, s)
            yield p + kind + ".out.bias", (s,)
        yield p + "mlp_ln.weight", (s,)
        yield p + "mlp_ln.bias", (s,)
        yield p + "mlp.0.weight", (s, 4 * s)
        yield p + "mlp.0.bias", (4 * s,)
        yield p + "mlp.2.weight", (4 * s, s)
        yield p + "mlp.2.bias", (s,)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    seed = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--seed" else 1
    rng = np.random.default_rng(seed)
    out = bytearray()
    i32 = lambda *v: out.extend(struct.pack("<" + "i" * len(v), *v))
    i32(0x67676D6C)
    # ftype 1 (float16), as the published models: whisper.cpp's convolution
    # needs float16 kernels.
    i32(N_VOCAB, N_AUDIO_CTX, STATE, HEADS, LAYERS, N_TEXT_CTX, STATE, HEADS, LAYERS, N_MELS, 1)
    i32(N_MELS, N_FFT)
    out.extend(np.abs(rng.standard_normal(N_MELS * N_FFT)).astype("<f4").tobytes() * 1)
    # Text tokens are short made-up words, so decoded output is visible text.
    i32(N_TEXT_TOKENS)
    for t in range(N_TEXT_TOKENS):
        # Token 220 is the lone space in GPT-2's vocabulary, which whisper.cpp
        # looks up to suppress blank output.
        word = b" " if t == 220 else f" w{t}".encode()
        out.extend(struct.pack("<I", len(word)) + word)
    for name, shape in tensors():
        n = int(np.prod(shape))
        if name.endswith(".weight") and ("ln" in name.split(".")[-2]):
            data = np.ones(n)  # layer norms: unit gain keeps activations finite
        else:
            data = rng.standard_normal(n) * 0.5
        # Matrices (and the convolution kernels) are float16, vectors and
        # positional embeddings float32, as whisper.cpp allocates them.
        half = len(shape) >= 2 and "positional_embedding" not in name and not name.endswith(".bias")
        enc = name.encode()
        i32(len(shape), len(enc), 1 if half else 0)
        i32(*shape)
        out.extend(enc)
        out.extend(data.astype("<f2" if half else "<f4").tobytes())
    with open(sys.argv[1], "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
