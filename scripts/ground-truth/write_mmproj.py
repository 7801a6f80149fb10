#!/usr/bin/env python3
"""Writes a random-weight F16 mmproj GGUF of a vision-language model's tower from its config.json.

The tensors and keys are the ones llama.cpp's `convert_hf_to_gguf.py --mmproj` writes at its
default F16 type (conversion/gemma.py `Gemma3VisionModel`, conversion/qwenvl.py
`Qwen2VLVisionModel`, and MmprojModel in conversion/base.py): 1-D tensors in F32, Gemma 3's patch
and position embeddings in F32 and its input projection in F16, every other matrix in F16. The
values are random; the shapes are the tower's. `--n-embd-text N` replaces the projector's output
width (the language model's hidden size), so the file can be loaded next to a small text model of
that width: llama-mtmd-cli refuses a projector whose output is not the text model's width.

    write_mmproj.py data/models/gemma-3-12b.json out/mmproj.gguf --n-embd-text 1152

Needs the `gguf` and `numpy` packages (PyPI).
"""

import argparse
import json
from pathlib import Path

import numpy as np

import gguf

RNG = np.random.default_rng(20251203)
POOL = (RNG.standard_normal(1 << 24, dtype=np.float32) * 0.02).astype(np.float16)


def fail(msg):
    raise SystemExit(f"write_mmproj: {msg}")


def f16(shape):
    n = int(np.prod(shape))
    reps = -(-n // POOL.size)
    data = np.tile(POOL, reps)[:n] if reps > 1 else POOL[:n]
    return np.ascontiguousarray(data.reshape(shape))


def f32(shape, value=None):
    if value is not None:
        return np.full(shape, value, dtype=np.float32)
    return (RNG.standard_normal(int(np.prod(shape)), dtype=np.float32) * 0.02).reshape(shape)


def req(d, k, where):
    if k not in d:
        fail(f"{where} has no `{k}`")
    v = d[k]
    if not isinstance(v, int) or not 0 < v <= 1 << 20:
        fail(f"{where}.{k} = {v!r} is not a count")
    return v


def gemma3(w, cfg, vc, n_text):
    e, ff = req(vc, "hidden_size", "vision_config"), req(vc, "intermediate_size", "vision_config")
    p, img = req(vc, "patch_size", "vision_config"), req(vc, "image_size", "vision_config")
    n_layer = req(vc, "num_hidden_layers", "vision_config")
    w.add_clip_projector_type(gguf.VisionProjectorType.GEMMA3)
    w.add_vision_attention_layernorm_eps(vc.get("layer_norm_eps", 1e-6))
    w.add_vision_use_gelu(True)
    heads = req(vc, "num_attention_heads", "vision_config")
    t = {"v.patch_embd.weight": f32((e, 3, p, p)), "v.patch_embd.bias": f32((e,)),
         "v.position_embd.weight": f32(((img // p) ** 2, e))}
    for i in range(n_layer):
        b = f"v.blk.{i}"
        for n in ("ln1", "ln2"):
            t[f"{b}.{n}.weight"] = f32((e,), 1.0)
            t[f"{b}.{n}.bias"] = f32((e,))
        for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
            t[f"{b}.{n}.weight"] = f16((e, e))
            t[f"{b}.{n}.bias"] = f32((e,))
        t[f"{b}.ffn_up.weight"], t[f"{b}.ffn_up.bias"] = f16((ff, e)), f32((ff,))
        t[f"{b}.ffn_down.weight"], t[f"{b}.ffn_down.bias"] = f16((e, ff)), f32((e,))
    t["v.post_ln.weight"], t["v.post_ln.bias"] = f32((e,), 1.0), f32((e,))
    t["mm.input_projection.weight"] = f16((e, n_text))
    t["mm.soft_emb_norm.weight"] = f32((e,), 1.0)
    return dict(e=e, ff=ff, p=p, img=img, n_layer=n_layer, heads=heads), t


def qwen25vl(w, cfg, vc, n_text):
    e, ff = req(vc, "hidden_size", "vision_config"), req(vc, "intermediate_size", "vision_config")
    p, n_layer = req(vc, "patch_size", "vision_config"), req(vc, "depth", "vision_config")
    heads, merge = req(vc, "num_heads", "vision_config"), vc.get("spatial_merge_size", 2)
    img = vc.get("image_size", 560)
    full = vc.get("fullatt_block_indexes")
    if not isinstance(full, list) or not full:
        fail("vision_config.fullatt_block_indexes is required for qwen2_5_vl")
    w.add_clip_projector_type(gguf.VisionProjectorType.QWEN25VL)
    w.add_vision_use_silu(True)
    w.add_vision_n_wa_pattern(full[0] + 1)
    w.add_vision_attention_layernorm_eps(cfg.get("rms_norm_eps", 1e-6))
    t = {"v.patch_embd.weight": f16((e, 3, p, p)), "v.patch_embd.weight.1": f16((e, 3, p, p))}
    for i in range(n_layer):
        b = f"v.blk.{i}"
        t[f"{b}.ln1.weight"], t[f"{b}.ln2.weight"] = f32((e,), 1.0), f32((e,), 1.0)
        for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
            t[f"{b}.{n}.weight"] = f16((e, e))
            t[f"{b}.{n}.bias"] = f32((e,))
        for n in ("ffn_gate", "ffn_up"):
            t[f"{b}.{n}.weight"], t[f"{b}.{n}.bias"] = f16((ff, e)), f32((ff,))
        t[f"{b}.ffn_down.weight"], t[f"{b}.ffn_down.bias"] = f16((e, ff)), f32((e,))
    m = e * merge * merge
    t["v.post_ln.weight"] = f32((e,), 1.0)
    t["mm.0.weight"], t["mm.0.bias"] = f16((m, m)), f32((m,))
    t["mm.2.weight"], t["mm.2.bias"] = f16((n_text, m)), f32((n_text,))
    return dict(e=e, ff=ff, p=p, img=img, n_layer=n_layer, heads=heads), t


def qwen3vl(w, cfg, vc, n_text):
    e, ff = req(vc, "hidden_size", "vision_config"), req(vc, "intermediate_size", "vision_config")
    p, n_layer = req(vc, "patch_size", "vision_config"), req(vc, "depth", "vision_config")
    heads, merge = req(vc, "num_heads", "vision_config"), vc.get("spatial_merge_size", 2)
    n_pos = vc.get("num_position_embeddings", 2304)
    img = int(n_pos ** 0.5 * p)
    deep = vc.get("deepstack_visual_indexes", [])
    w.add_clip_projector_type(gguf.VisionProjectorType.QWEN3VL)
    w.add_vision_use_gelu(True)
    w.add_vision_spatial_merge_size(int(merge))
    w.add_vision_attention_layernorm_eps(cfg.get("text_config", {}).get("rms_norm_eps", 1e-6))
    w.add_vision_is_deepstack_layers([i in deep for i in range(n_layer)])
    t = {"v.patch_embd.weight": f16((e, 3, p, p)), "v.patch_embd.weight.1": f16((e, 3, p, p)),
         "v.patch_embd.bias": f32((e,)), "v.position_embd.weight": f32((n_pos, e))}
    for i in range(n_layer):
        b = f"v.blk.{i}"
        for n in ("ln1", "ln2"):
            t[f"{b}.{n}.weight"], t[f"{b}.{n}.bias"] = f32((e,), 1.0), f32((e,))
        t[f"{b}.attn_qkv.weight"], t[f"{b}.attn_qkv.bias"] = f16((3 * e, e)), f32((3 * e,))
        t[f"{b}.attn_out.weight"], t[f"{b}.attn_out.bias"] = f16((e, e)), f32((e,))
        t[f"{b}.ffn_up.weight"], t[f"{b}.ffn_up.bias"] = f16((ff, e)), f32((ff,))
        t[f"{b}.ffn_down.weight"], t[f"{b}.ffn_down.bias"] = f16((e, ff)), f32((e,))
    m = e * merge * merge
    t["v.post_ln.weight"], t["v.post_ln.bias"] = f32((e,), 1.0), f32((e,))
    t["mm.0.weight"], t["mm.0.bias"] = f16((m, m)), f32((m,))
    t["mm.2.weight"], t["mm.2.bias"] = f16((n_text, m)), f32((n_text,))
    for il in deep:
        b = f"v.deepstack.{il}"
        t[f"{b}.norm.weight"], t[f"{b}.norm.bias"] = f32((m,), 1.0), f32((m,))
        t[f"{b}.fc1.weight"], t[f"{b}.fc1.bias"] = f16((m, m)), f32((m,))
        t[f"{b}.fc2.weight"], t[f"{b}.fc2.bias"] = f16((n_text, m)), f32((n_text,))
    return dict(e=e, ff=ff, p=p, img=img, n_layer=n_layer, heads=heads), t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("out")
    ap.add_argument("--n-embd-text", type=int, default=None)
    a = ap.parse_args()
    src = Path(a.config)
    if src.stat().st_size > 4 << 20:
        fail(f"{src} is larger than 4 MiB; not a config.json")
    doc = json.loads(src.read_text())
    cfg = doc.get("config", doc)
    vc = cfg.get("vision_config")
    if not isinstance(vc, dict):
        fail(f"{src} has no vision_config")
    mt = cfg.get("model_type")
    text = cfg.get("text_config", cfg)
    n_text = a.n_embd_text or text.get("hidden_size") or vc.get("out_hidden_size")
    w = gguf.GGUFWriter(a.out, "clip")
    w.add_type(gguf.GGUFType.MMPROJ)
    w.add_name(f"{doc.get('id', src.stem)} mmproj")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_clip_has_vision_encoder(True)
    w.add_vision_projection_dim(int(n_text))
    if mt == "gemma3":
        hp, tensors = gemma3(w, cfg, vc, int(n_text))
        # Image normalization (no bearing on memory): SigLIP's 0.5 and CLIP's means, as the
        # preprocessor_config.json of these models gives them.
        mean = std = [0.5, 0.5, 0.5]
    elif mt == "qwen2_5_vl":
        hp, tensors = qwen25vl(w, cfg, vc, int(n_text))
        mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    elif mt in ("qwen3_vl", "qwen3_vl_moe"):
        hp, tensors = qwen3vl(w, cfg, vc, int(n_text))
        mean = std = [0.5, 0.5, 0.5]
    else:
        fail(f"model_type `{mt}` is not one this writer knows (gemma3, qwen2_5_vl, qwen3_vl)")
    w.add_vision_image_size(hp["img"])
    w.add_vision_patch_size(hp["p"])
    w.add_vision_embedding_length(hp["e"])
    w.add_vision_feed_forward_length(hp["ff"])
    w.add_vision_block_count(hp["n_layer"])
    w.add_vision_head_count(hp["heads"])
    w.add_vision_image_mean(mean)
    w.add_vision_image_std(std)
    for name, data in tensors.items():
        w.add_tensor(name, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    print(a.out)


if __name__ == "__main__":
    main()
