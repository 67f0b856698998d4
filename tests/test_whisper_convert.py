"""CTranslate2 -> openai-whisper conversion, on a tiny random model (no real weights needed)."""

import struct

import numpy as np
import pytest

from pipeline.asr.whisper_convert import ConversionError, dims_of, read_ct2, to_openai

torch = pytest.importorskip("torch")
whisper = pytest.importorskip("whisper")

TINY = dict(
    n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=2,
    n_vocab=51865, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=2,
)  # fmt: skip


def _tiny_model():
    torch.manual_seed(0)
    model = whisper.model.Whisper(whisper.model.ModelDimensions(**TINY))
    with torch.no_grad():  # created with torch.empty: give it defined values
        model.decoder.positional_embedding.normal_(0, 0.02)
    return model.eval()


def _to_ct2_names(state: dict) -> dict[str, np.ndarray]:
    """What CTranslate2's Whisper converter stores: fused projections, zero key biases."""
    s = {k: v.numpy() for k, v in state.items()}
    out = {
        "encoder/num_heads": np.array(TINY["n_audio_head"], dtype=np.int16),
        "decoder/num_heads": np.array(TINY["n_text_head"], dtype=np.int16),
        "encoder/position_encodings/encodings": s["encoder.positional_embedding"],
        "decoder/position_encodings/encodings": s["decoder.positional_embedding"],
        "decoder/embeddings/weight": s["decoder.token_embedding.weight"],
    }

    def lin(src, dst, bias=True):
        out[f"{dst}/weight"] = s[f"{src}.weight"]
        if bias:
            out[f"{dst}/bias"] = s[f"{src}.bias"]

    def norm(src, dst):
        out[f"{dst}/gamma"], out[f"{dst}/beta"] = s[f"{src}.weight"], s[f"{src}.bias"]

    def fused(src, names, dst):
        out[f"{dst}/weight"] = np.concatenate([s[f"{src}.{n}.weight"] for n in names])
        zero = np.zeros(TINY["n_audio_state"], dtype=np.float32)
        out[f"{dst}/bias"] = np.concatenate(
            [s.get(f"{src}.{n}.bias", zero) if n != "key" else zero for n in names]
        )

    for conv in ("conv1", "conv2"):
        lin(f"encoder.{conv}", f"encoder/{conv}")
    for side, n in (("encoder", TINY["n_audio_layer"]), ("decoder", TINY["n_text_layer"])):
        for i in range(n):
            blk, lay = f"{side}.blocks.{i}", f"{side}/layer_{i}"
            fused(f"{blk}.attn", ["query", "key", "value"], f"{lay}/self_attention/linear_0")
            lin(f"{blk}.attn.out", f"{lay}/self_attention/linear_1")
            norm(f"{blk}.attn_ln", f"{lay}/self_attention/layer_norm")
            lin(f"{blk}.mlp.0", f"{lay}/ffn/linear_0")
            lin(f"{blk}.mlp.2", f"{lay}/ffn/linear_1")
            norm(f"{blk}.mlp_ln", f"{lay}/ffn/layer_norm")
            if side == "decoder":
                lin(f"{blk}.cross_attn.query", f"{lay}/attention/linear_0")
                fused(f"{blk}.cross_attn", ["key", "value"], f"{lay}/attention/linear_1")
                lin(f"{blk}.cross_attn.out", f"{lay}/attention/linear_2")
                norm(f"{blk}.cross_attn_ln", f"{lay}/attention/layer_norm")
    norm("encoder.ln_post", "encoder/layer_norm")
    norm("decoder.ln", "decoder/layer_norm")
    return {k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in out.items()}


def _write_ct2(path, variables, aliases=()):
    """CTranslate2's model.bin layout (version 6), as ctranslate2.specs writes it."""
    types = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2,
             np.dtype(np.int32): 3, np.dtype(np.float16): 4}  # fmt: skip

    def string(fh, text):
        fh.write(struct.pack("H", len(text) + 1) + text.encode() + b"\0")

    with path.open("wb") as fh:
        fh.write(struct.pack("I", 6))
        string(fh, "WhisperSpec")
        fh.write(struct.pack("I", 3))
        fh.write(struct.pack("I", len(variables)))
        for name, value in variables.items():
            string(fh, name)
            fh.write(struct.pack("B", value.ndim))
            for dim in value.shape:
                fh.write(struct.pack("I", dim))
            fh.write(struct.pack("B", types[value.dtype]))
            fh.write(struct.pack("I", value.nbytes))
            fh.write(value.tobytes())
        fh.write(struct.pack("I", len(aliases)))
        for alias, target in aliases:
            string(fh, alias)
            string(fh, target)


def test_round_trip_gives_back_every_tensor_and_a_loadable_model(tmp_path):
    original = _tiny_model()
    state = original.state_dict()
    path = tmp_path / "model.bin"
    _write_ct2(
        path, _to_ct2_names(state), [("decoder/projection/weight", "decoder/embeddings/weight")]
    )

    variables = read_ct2(path)
    assert dims_of(variables) == TINY
    converted = to_openai(variables)
    assert set(converted) == set(state)
    for name, tensor in state.items():
        # float16 storage, as in the bundled model: equal to half precision
        assert np.allclose(converted[name], tensor.numpy(), rtol=2e-3, atol=1e-3), name

    rebuilt = whisper.model.Whisper(whisper.model.ModelDimensions(**dims_of(variables)))
    rebuilt.load_state_dict(
        {k: torch.from_numpy(v.astype(np.float32)) for k, v in converted.items()}
    )
    mel = torch.randn(1, 80, 3000)
    with torch.no_grad():
        expected, got = original.encoder(mel), rebuilt.eval().encoder(mel)
    assert torch.allclose(expected, got, atol=5e-2)


def test_other_models_are_refused_clearly(tmp_path):
    path = tmp_path / "model.bin"
    with path.open("wb") as fh:
        fh.write(struct.pack("I", 6) + struct.pack("H", 13) + b"BertSpec1234\0")
    with pytest.raises(ConversionError, match="not Whisper"):
        read_ct2(path)
    path.write_bytes(b"\x06\x00")
    with pytest.raises(ConversionError, match="truncated"):
        read_ct2(path)
