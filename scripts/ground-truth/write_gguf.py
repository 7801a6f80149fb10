#!/usr/bin/env python3
"""Writes a random-weight GGUF file of a real architecture from its public config.json.

The input is a catalog model file (data/models/<id>.json: the config under "config") or a bare
config.json. Every tensor llama.cpp loads for the architecture is written with its exact shape and
the type convert_hf_to_gguf.py gives it (F16 matrices, F32 norms, biases and SSM vectors); the
values are random. The vocabulary is synthetic but of the config's size (an SPM vocabulary:
control tokens, the 256 byte tokens, printable pieces and numbered fillers), so the embedding and
output matrices, and with them memory and speed, are the real model's. `general.name` is the
catalog id, which is how `headroom import` records name the model.

    write_gguf.py data/models/qwen3-0.6b.json out/qwen3-0.6b-F16.gguf

Needs the `gguf` and `numpy` packages (PyPI).
"""

import json
import sys
from pathlib import Path

import numpy as np

import gguf

# A pool of random values reused across tensors: the values are random, the generation cost is
# paid once.
POOL_VALUES = 1 << 24
RNG = np.random.default_rng(20251202)
POOL = (RNG.standard_normal(POOL_VALUES, dtype=np.float32) * 0.02).astype(np.float16)

SUPPORTED = {
    "llama": "llama",
    "mistral": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "gemma3_text": "gemma3",
    "gemma3": "gemma3",
    "granitemoe": "granitemoe",
    "granitemoehybrid": "granitehybrid",
    "lfm2": "lfm2",
}


def fail(msg):
    sys.stderr.write(f"write_gguf: {msg}\n")
    sys.exit(2)


def random_f16(shape):
    n = int(np.prod(shape))
    reps = -(-n // POOL_VALUES)
    data = np.tile(POOL, reps)[:n] if reps > 1 else POOL[:n]
    # Offsetting the start makes neighbouring tensors differ.
    return np.ascontiguousarray(data.reshape(shape))


def ones_f32(shape):
    return np.ones(shape, dtype=np.float32)


def small_f32(shape):
    n = int(np.prod(shape))
    return (RNG.standard_normal(n, dtype=np.float32) * 0.02).reshape(shape)


class Model:
    def __init__(self, cfg, name):
        self.cfg = cfg
        self.name = name
        mt = cfg.get("model_type", "")
        if mt not in SUPPORTED:
            fail(f"model_type `{mt}` is not one this writer knows ({', '.join(sorted(SUPPORTED))})")
        self.arch = SUPPORTED[mt]
        self.model_type = mt
        req = lambda k: cfg[k] if k in cfg else fail(f"config has no `{k}`")
        self.n_embd = int(req("hidden_size"))
        self.n_layer = int(req("num_hidden_layers"))
        self.n_head = int(req("num_attention_heads"))
        self.n_kv = int(cfg.get("num_key_value_heads") or self.n_head)
        self.head_dim = int(cfg.get("head_dim") or self.n_embd // self.n_head)
        self.n_vocab = int(req("vocab_size"))
        self.n_ff = int(cfg.get("intermediate_size") or 0)
        self.tied = bool(cfg.get("tie_word_embeddings",
                                 cfg.get("tie_embedding", self.arch in ("gemma3", "lfm2"))))
        self.n_ctx = int(cfg.get("max_position_embeddings") or 4096)
        self.eps = float(cfg.get("rms_norm_eps", cfg.get("norm_eps", 1e-6)))
        self.rope_theta = float(cfg.get("rope_theta")
                                or (cfg.get("rope_parameters") or {}).get("rope_theta")
                                or 10000.0)
        self.n_expert = int(cfg.get("num_local_experts") or cfg.get("num_experts") or 0)
        self.n_expert_used = int(cfg.get("num_experts_per_tok") or 0)
        for v, k in [(self.n_embd, "hidden_size"), (self.n_layer, "num_hidden_layers"),
                     (self.n_vocab, "vocab_size")]:
            if not 0 < v <= 1 << 20:
                fail(f"`{k}` = {v} is out of range")
        if self.n_embd * self.n_vocab > 1 << 31:
            fail("the embedding matrix is larger than this harness writes (2^31 values)")
        self.layer_types = None
        if self.arch == "lfm2":
            self.n_ff = self.lfm2_ff()
        if self.arch in ("granitehybrid", "lfm2"):
            lt = cfg.get("layer_types")
            if not isinstance(lt, list) or len(lt) != self.n_layer:
                fail("`layer_types` must list one entry per layer")
            self.layer_types = lt

    def is_recurrent(self, il):
        if self.layer_types is None:
            return False
        if self.arch == "lfm2":
            return self.layer_types[il] == "conv"
        return self.layer_types[il] != "attention"

    def lfm2_ff(self):
        # convert_hf_to_gguf.py LFM2Model._add_feed_forward_length
        c = self.cfg
        ff = int(c.get("block_ff_dim") or c["intermediate_size"])
        if c.get("block_auto_adjust_ff_dim", True):
            ff = int(2 * ff / 3)
            mult = c.get("block_ffn_dim_multiplier", 1.0)
            if mult is not None:
                ff = int(mult * ff)
            m = int(c.get("block_multiple_of", 256))
            ff = m * ((ff + m - 1) // m)
        return ff

    def metadata(self, w):
        a = self.arch
        w.add_name(self.name)
        w.add_context_length(self.n_ctx)
        w.add_embedding_length(self.n_embd)
        w.add_block_count(self.n_layer)
        w.add_head_count(self.n_head)
        if self.layer_types is not None:
            w.add_head_count_kv([0 if self.is_recurrent(i) else self.n_kv
                                 for i in range(self.n_layer)])
        else:
            w.add_head_count_kv(self.n_kv)
        w.add_key_length(self.head_dim)
        w.add_value_length(self.head_dim)
        w.add_layer_norm_rms_eps(self.eps)
        w.add_rope_freq_base(self.rope_theta)
        w.add_rope_dimension_count(self.head_dim)
        w.add_vocab_size(self.n_vocab)
        w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
        if a == "gemma3":
            w.add_feed_forward_length(self.n_ff)
            sw = self.cfg.get("sliding_window")
            if sw:
                w.add_sliding_window(int(sw))
            base_swa = self.cfg.get("rope_local_base_freq")
            if base_swa:
                w.add_key_value(f"{a}.rope.freq_base_swa", float(base_swa),
                                gguf.GGUFValueType.FLOAT32)
        elif a == "lfm2":
            w.add_feed_forward_length(self.n_ff)
            w.add_shortconv_l_cache(int(self.cfg.get("conv_L_cache", 3)))
        elif a in ("granitemoe", "granitehybrid"):
            c = self.cfg
            w.add_logit_scale(float(c.get("logits_scaling", 1.0)))
            w.add_residual_scale(float(c.get("residual_multiplier", 1.0)))
            w.add_embedding_scale(float(c.get("embedding_multiplier", 1.0)))
            w.add_attention_scale(float(c.get("attention_multiplier", 1.0)))
            if self.n_expert > 1:
                w.add_expert_count(self.n_expert)
                w.add_expert_used_count(self.n_expert_used)
                w.add_feed_forward_length(self.n_ff)
            shared = int(c.get("shared_intermediate_size") or 0)
            if a == "granitehybrid":
                if self.n_expert > 1:
                    w.add_expert_shared_feed_forward_length(shared)
                else:
                    w.add_feed_forward_length(shared)
                heads = int(c["mamba_n_heads"])
                d_inner = int(c.get("mamba_expand") or 0) * self.n_embd or \
                    heads * int(c["mamba_d_head"])
                w.add_ssm_conv_kernel(int(c["mamba_d_conv"]))
                w.add_ssm_inner_size(d_inner)
                w.add_ssm_state_size(int(c["mamba_d_state"]))
                w.add_ssm_time_step_rank(heads)
                w.add_ssm_group_count(int(c["mamba_n_groups"]))
            elif shared:
                w.add_expert_shared_feed_forward_length(shared)
        else:
            w.add_feed_forward_length(self.n_ff)
        self.vocab(w)

    def vocab(self, w):
        tokens = ["<unk>", "<s>", "</s>"]
        types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
        tokens += [f"<0x{b:02X}>" for b in range(256)]
        types += [gguf.TokenType.BYTE] * 256
        pieces = [chr(c) for c in range(33, 127)] + ["\u2581" + chr(c) for c in range(33, 127)]
        pieces.append("\u2581")
        tokens += pieces
        types += [gguf.TokenType.NORMAL] * len(pieces)
        if len(tokens) > self.n_vocab:
            fail(f"vocab_size {self.n_vocab} is smaller than the synthetic base vocabulary")
        n_fill = self.n_vocab - len(tokens)
        tokens += [f"<tok_{i}>" for i in range(n_fill)]
        types += [gguf.TokenType.NORMAL] * n_fill
        scores = [0.0] * 3 + [0.0] * 256 + [-float(i) for i in range(len(pieces))] + \
            [-1e6] * n_fill
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
        w.add_add_bos_token(True)

    def tensors(self):
        """(name, shape as ggml ne) of every tensor; 1-D ones are F32."""
        e, hd, v = self.n_embd, self.head_dim, self.n_vocab
        # LFM2's final norm is token_embd_norm (llama-arch.cpp LLM_TENSOR_OUTPUT_NORM_LFM2)
        final_norm = "token_embd_norm.weight" if self.arch == "lfm2" else "output_norm.weight"
        out = [("token_embd.weight", (e, v)), (final_norm, (e,))]
        if not self.tied:
            out.append(("output.weight", (e, v)))
        for il in range(self.n_layer):
            p = f"blk.{il}."
            out.append((p + "attn_norm.weight", (e,)))
            if self.is_recurrent(il) and self.arch == "lfm2":
                # src/models/lfm2.cpp: shortconv.conv {L_cache, n_embd}, in_proj {n_embd,
                # 3*n_embd}, out_proj {n_embd, n_embd}
                out += [
                    (p + "shortconv.conv.weight", (int(self.cfg.get("conv_L_cache", 3)), e)),
                    (p + "shortconv.in_proj.weight", (e, 3 * e)),
                    (p + "shortconv.out_proj.weight", (e, e)),
                ]
            elif self.is_recurrent(il):
                out += self.ssm_tensors(p)
            else:
                out += [
                    (p + "attn_q.weight", (e, self.n_head * hd)),
                    (p + "attn_k.weight", (e, self.n_kv * hd)),
                    (p + "attn_v.weight", (e, self.n_kv * hd)),
                    (p + "attn_output.weight", (self.n_head * hd, e)),
                ]
                if self.arch == "qwen2" or self.cfg.get("attention_bias"):
                    out += [
                        (p + "attn_q.bias", (self.n_head * hd,)),
                        (p + "attn_k.bias", (self.n_kv * hd,)),
                        (p + "attn_v.bias", (self.n_kv * hd,)),
                    ]
                if self.arch in ("qwen3", "gemma3", "lfm2"):
                    out += [(p + "attn_q_norm.weight", (hd,)), (p + "attn_k_norm.weight", (hd,))]
            if self.arch == "gemma3":
                out.append((p + "post_attention_norm.weight", (e,)))
            out.append((p + "ffn_norm.weight", (e,)))
            out += self.ffn_tensors(p)
            if self.arch == "gemma3":
                out.append((p + "post_ffw_norm.weight", (e,)))
        return out

    def ffn_tensors(self, p):
        e = self.n_embd
        if self.n_expert > 1:
            f, x = self.n_ff, self.n_expert
            out = [
                (p + "ffn_gate_inp.weight", (e, x)),
                (p + "ffn_gate_exps.weight", (e, f, x)),
                (p + "ffn_up_exps.weight", (e, f, x)),
                (p + "ffn_down_exps.weight", (f, e, x)),
            ]
            shared = int(self.cfg.get("shared_intermediate_size") or 0)
            if shared:
                out += [
                    (p + "ffn_gate_shexp.weight", (e, shared)),
                    (p + "ffn_up_shexp.weight", (e, shared)),
                    (p + "ffn_down_shexp.weight", (shared, e)),
                ]
            return out
        f = self.n_ff
        if self.arch == "granitehybrid":
            f = int(self.cfg.get("shared_intermediate_size") or f)
        return [
            (p + "ffn_gate.weight", (e, f)),
            (p + "ffn_up.weight", (e, f)),
            (p + "ffn_down.weight", (f, e)),
        ]

    def ssm_tensors(self, p):
        # llama.cpp granite-hybrid.cpp / mamba2: ssm_in {n_embd, 2*d_inner + 2*ng*ds + nh},
        # ssm_conv1d {d_conv, d_inner + 2*ng*ds} (+ bias), ssm_dt.bias {nh}, ssm_a, ssm_d {1, nh},
        # ssm_norm {d_inner/ng, ng}, ssm_out {d_inner, n_embd}.
        c = self.cfg
        e = self.n_embd
        nh = int(c["mamba_n_heads"])
        d_inner = int(c.get("mamba_expand") or 0) * e or nh * int(c["mamba_d_head"])
        ng = int(c["mamba_n_groups"])
        ds = int(c["mamba_d_state"])
        conv = d_inner + 2 * ng * ds
        out = [
            (p + "ssm_in.weight", (e, 2 * d_inner + 2 * ng * ds + nh)),
            (p + "ssm_conv1d.weight", (int(c["mamba_d_conv"]), conv)),
        ]
        if c.get("mamba_conv_bias", True):
            out.append((p + "ssm_conv1d.bias", (conv,)))
        out += [
            (p + "ssm_dt.bias", (nh,)),
            (p + "ssm_a", (1, nh)),
            (p + "ssm_d", (1, nh)),
            (p + "ssm_norm.weight", (d_inner // ng, ng)),
            (p + "ssm_out.weight", (d_inner, e)),
        ]
        return out


def is_f32(name, shape):
    # convert_hf_to_gguf.py keeps 1-D tensors, norms, ssm_conv1d, ssm_a/ssm_d and the router in F32.
    return (len(shape) == 1 or name.endswith("_norm.weight") or ".ssm_conv1d." in name
            or name.endswith("shortconv.conv.weight")
            or name.endswith(".ssm_a") or name.endswith(".ssm_d")
            or name.endswith("ffn_gate_inp.weight"))


def main():
    if len(sys.argv) != 3:
        fail("usage: write_gguf.py CONFIG.json OUT.gguf")
    src = Path(sys.argv[1])
    if src.stat().st_size > 4 << 20:
        fail(f"{src} is larger than 4 MiB; not a config.json")
    doc = json.loads(src.read_text())
    if not isinstance(doc, dict):
        fail(f"{src}: expected a JSON object")
    cfg = doc.get("config", doc)
    cfg = cfg.get("text_config", cfg) if cfg.get("model_type") == "gemma3" else cfg
    name = doc.get("id") or src.stem
    m = Model(cfg, name)
    out = Path(sys.argv[2])
    w = gguf.GGUFWriter(str(out), m.arch)
    m.metadata(w)
    for tname, ne in m.tensors():
        shape = tuple(reversed(ne))
        if tname.endswith(".ssm_a"):
            data = -np.ones(shape, dtype=np.float32)
        elif tname.endswith("norm.weight") or tname.endswith(".ssm_d"):
            data = ones_f32(shape)
        elif is_f32(tname, ne):
            data = small_f32(shape)
        else:
            data = random_f16(shape)
        w.add_tensor(tname, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    print(out)


if __name__ == "__main__":
    main()
