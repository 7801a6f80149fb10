//! The vision projector (`mmproj`) llama.cpp's mtmd library loads beside a vision-language model:
//! its weights as `convert_hf_to_gguf.py --mmproj` writes them, and the clip compute buffer that
//! `tools/mtmd/clip.cpp` reserves for its warmup image.
//!
//! Weights follow the converter (llama.cpp `conversion/base.py` `prepare_tensors`, with the
//! overrides of `conversion/gemma.py` `Gemma3VisionModel`, `conversion/qwenvl.py`
//! `Qwen2VLVisionModel` and `conversion/qwen3vl.py` `Qwen3VLVisionModel`): 1-D tensors, norms and
//! position embeddings in F32; Gemma 3's patch and position embeddings in F32 and its
//! `mm.input_projection` in F16 whatever the file type; the Qwen patch embeddings in F16 in an F16
//! file and F32 otherwise; every other matrix in the file's type, except that a Q8_0 file keeps a
//! matrix whose rows are not a multiple of 32 in F16 (gguf-py raises `QuantError`, and the
//! converter falls back to F16).
//!
//! The compute buffer is the ggml graph allocator's peak over the warmup graph
//! (`clip_model_loader::warmup` with `get_dummy_batch`): one square image of `warmup_image_size`
//! pixels, 896 for Gemma 3 (the model's image size) and `46 x patch x merge` for Qwen2.5-VL and
//! Qwen3-VL (`set_warmup_n_tokens(46*46)`), with flash attention on (clip's `auto` keeps it on when
//! the backend runs the head size; CPU and CUDA run 64, 72 and 80). With `n` patches and f32 rows
//! of `e` (the tower's width) and `ff` (its MLP width), the peaks that llama-mtmd-cli printed for
//! random-weight mmproj files of the catalog towers (tests/fixtures/ground-truth/mmproj/, written
//! by scripts/ground-truth/mmproj_memory.sh) are, to the byte:
//! - Gemma 3 (SigLIP, `clip_graph_siglip`): `n x (3e + ff)` f32, the feed-forward step's input,
//!   residual and up projection with one more row of the width live;
//! - Qwen3-VL (`clip_graph_qwen3vl`): the graph inputs that stay allocated (the image, 3 f32 planes,
//!   and 4 i32 M-RoPE positions per patch) and `9 n e` f32, the fused QKV, the rotated Q and K,
//!   their f16 copies and the residual of the attention step; measured on two tower sizes (4B's
//!   1024 wide, 8B's 1152);
//! - Qwen2.5-VL (`clip_graph_qwen2vl`): the largest of an input, an attention and a gated
//!   feed-forward phase, plus the window-attention mask, `n x n` f32 and its f16 cast, which every
//!   windowed layer reads; this is 1.2% above the measured peak of the 7B tower (713.4 against
//!   704.8 MiB), as no exact decomposition of that peak was found.
//!
//! The same graph is reserved on the GPU when the projector is offloaded; the measurements are
//! the CPU backend's.

use crate::quant::GgmlType;
use crate::tensors::Tensor;
use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// The projector families Headroom models, named as `clip.projector_type` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectorKind {
    /// SigLIP tower, 4x4 average pooling, RMS norm and one input projection.
    Gemma3,
    /// Qwen2.5-VL: RMS-normed ViT with a gated SiLU MLP, 2-D RoPE, window attention, a 2x2 merger.
    Qwen25Vl,
    /// Qwen3-VL: LayerNorm ViT with a GELU MLP, learned positions, a 2x2 merger and deepstack mergers.
    Qwen3Vl,
}

impl ProjectorKind {
    /// `clip.projector_type` in an mmproj GGUF (clip-impl.h `PROJECTOR_TYPE_NAMES`).
    pub fn clip_name(self) -> &'static str {
        match self {
            ProjectorKind::Gemma3 => "gemma3",
            ProjectorKind::Qwen25Vl => "qwen2.5vl_merger",
            ProjectorKind::Qwen3Vl => "qwen3vl_merger",
        }
    }

    pub fn from_clip_name(s: &str) -> Option<ProjectorKind> {
        [
            ProjectorKind::Gemma3,
            ProjectorKind::Qwen25Vl,
            ProjectorKind::Qwen3Vl,
        ]
        .into_iter()
        .find(|k| k.clip_name() == s)
    }
}

/// A vision tower's shapes, from a config's `vision_config` or an mmproj GGUF's `clip.vision.*`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisionTower {
    pub kind: ProjectorKind,
    /// Encoder blocks (`depth`, `num_hidden_layers`).
    pub n_layer: u32,
    /// Encoder width (`hidden_size`).
    pub n_embd: u32,
    /// Encoder MLP width (`intermediate_size`).
    pub n_ff: u32,
    pub n_head: u32,
    pub patch_size: u32,
    /// The model's image side in pixels (`image_size`; Qwen3-VL: sqrt(positions) x patch).
    pub image_size: u32,
    /// Patches merged per side into one token: Gemma 3's pooling (4), Qwen's spatial merge (2).
    pub n_merge: u32,
    /// Width the projector writes: the language model's hidden size.
    pub n_embd_text: u32,
    /// Learned position embeddings (0 where positions are rotary only).
    pub n_position: u32,
    /// Qwen3-VL blocks whose output also goes through a deepstack merger.
    pub n_deepstack: u32,
}

/// Limits on a tower read from a file or config, checked before anything is sized by it.
pub mod limits {
    pub const MAX_LAYERS: u32 = 256;
    pub const MAX_WIDTH: u32 = 65_536;
    pub const MAX_IMAGE: u32 = 8_192;
    pub const MAX_POSITIONS: u32 = 1 << 20;
}

impl VisionTower {
    /// Checks every count against `limits`; the field name and the problem when one is out.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let check = |name: &'static str, v: u32, lo: u32, hi: u32| {
            if v < lo || v > hi {
                Err((name, format!("{v} is outside {lo}..={hi}")))
            } else {
                Ok(())
            }
        };
        check("n_layer", self.n_layer, 1, limits::MAX_LAYERS)?;
        check("n_embd", self.n_embd, 1, limits::MAX_WIDTH)?;
        check("n_ff", self.n_ff, 1, 4 * limits::MAX_WIDTH)?;
        check("n_head", self.n_head, 1, limits::MAX_WIDTH)?;
        check("patch_size", self.patch_size, 1, 1024)?;
        check("image_size", self.image_size, 0, limits::MAX_IMAGE)?;
        check("n_merge", self.n_merge, 1, 64)?;
        check("n_embd_text", self.n_embd_text, 1, limits::MAX_WIDTH)?;
        check("n_position", self.n_position, 0, limits::MAX_POSITIONS)?;
        check("n_deepstack", self.n_deepstack, 0, self.n_layer)?;
        if self.n_embd % self.n_head != 0 {
            return Err((
                "n_head",
                format!(
                    "{} heads do not divide the width {}",
                    self.n_head, self.n_embd
                ),
            ));
        }
        Ok(())
    }

    /// The side of the warmup image clip.cpp reserves its compute buffer with.
    pub fn warmup_image_size(&self) -> u32 {
        match self.kind {
            ProjectorKind::Gemma3 => self.image_size,
            ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => 46 * self.patch_size * self.n_merge,
        }
    }

    /// Patches of the warmup image.
    pub fn warmup_patches(&self) -> u64 {
        let side = u64::from(self.warmup_image_size() / self.patch_size.max(1));
        side * side
    }
}

/// The file types an mmproj is published in.
pub fn is_mmproj_type(ty: GgmlType) -> bool {
    matches!(
        ty,
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 | GgmlType::Q8_0
    )
}

fn t(name: String, dims: &[u64], ty: GgmlType) -> Tensor {
    Tensor {
        name,
        dims: dims.to_vec(),
        ty,
    }
}

/// The type a matrix takes in a file of type `file`: Q8_0 needs rows (`ne0`) in blocks of 32.
fn matrix_type(file: GgmlType, ne0: u64) -> GgmlType {
    if file == GgmlType::Q8_0 && ne0 % 32 != 0 {
        GgmlType::F16
    } else {
        file
    }
}

/// The tensors of an mmproj file of type `file` (F32, F16, BF16 or Q8_0) for `tower`.
pub fn tensors(tower: &VisionTower, file: GgmlType) -> Vec<Tensor> {
    let f32 = GgmlType::F32;
    let e = u64::from(tower.n_embd);
    let ff = u64::from(tower.n_ff);
    let p = u64::from(tower.patch_size);
    let out = u64::from(tower.n_embd_text);
    let mat = |name: String, ne0: u64, ne1: u64| t(name, &[ne0, ne1], matrix_type(file, ne0));
    let vec1 = |name: String, n: u64| t(name, &[n], f32);
    let mut v = Vec::new();
    let qwen_patch = if file == GgmlType::F16 {
        GgmlType::F16
    } else {
        f32
    };
    match tower.kind {
        ProjectorKind::Gemma3 => {
            v.push(t("v.patch_embd.weight".into(), &[p, p, 3, e], f32));
            v.push(vec1("v.patch_embd.bias".into(), e));
        }
        ProjectorKind::Qwen25Vl => {
            v.push(t("v.patch_embd.weight".into(), &[p, p, 3, e], qwen_patch));
            v.push(t("v.patch_embd.weight.1".into(), &[p, p, 3, e], qwen_patch));
        }
        ProjectorKind::Qwen3Vl => {
            v.push(t("v.patch_embd.weight".into(), &[p, p, 3, e], qwen_patch));
            v.push(t("v.patch_embd.weight.1".into(), &[p, p, 3, e], qwen_patch));
            v.push(vec1("v.patch_embd.bias".into(), e));
        }
    }
    if tower.n_position > 0 {
        v.push(t(
            "v.position_embd.weight".into(),
            &[e, u64::from(tower.n_position)],
            f32,
        ));
    }
    let biased = tower.kind != ProjectorKind::Qwen25Vl; // Qwen2.5-VL's RMS norms have no bias
    for il in 0..tower.n_layer {
        let n = |s: &str| format!("v.blk.{il}.{s}");
        for norm in ["ln1", "ln2"] {
            v.push(vec1(n(&format!("{norm}.weight")), e));
            if biased {
                v.push(vec1(n(&format!("{norm}.bias")), e));
            }
        }
        if tower.kind == ProjectorKind::Qwen3Vl {
            // Qwen3-VL's converter keeps the fused `qkv` projection.
            v.push(mat(n("attn_qkv.weight"), e, 3 * e));
            v.push(vec1(n("attn_qkv.bias"), 3 * e));
        } else {
            for m in ["attn_q", "attn_k", "attn_v"] {
                v.push(mat(n(&format!("{m}.weight")), e, e));
                v.push(vec1(n(&format!("{m}.bias")), e));
            }
        }
        v.push(mat(n("attn_out.weight"), e, e));
        v.push(vec1(n("attn_out.bias"), e));
        if tower.kind == ProjectorKind::Qwen25Vl {
            v.push(mat(n("ffn_gate.weight"), e, ff));
            v.push(vec1(n("ffn_gate.bias"), ff));
        }
        v.push(mat(n("ffn_up.weight"), e, ff));
        v.push(vec1(n("ffn_up.bias"), ff));
        v.push(mat(n("ffn_down.weight"), ff, e));
        v.push(vec1(n("ffn_down.bias"), e));
    }
    let merged = e * u64::from(tower.n_merge) * u64::from(tower.n_merge);
    match tower.kind {
        ProjectorKind::Gemma3 => {
            v.push(vec1("v.post_ln.weight".into(), e));
            v.push(vec1("v.post_ln.bias".into(), e));
            v.push(t(
                "mm.input_projection.weight".into(),
                &[e, out],
                GgmlType::F16,
            ));
            v.push(vec1("mm.soft_emb_norm.weight".into(), e));
        }
        ProjectorKind::Qwen25Vl | ProjectorKind::Qwen3Vl => {
            // The merger: a norm over the encoder width, then two linears over 2x2 merged patches.
            v.push(vec1("v.post_ln.weight".into(), e));
            if biased {
                v.push(vec1("v.post_ln.bias".into(), e));
            }
            v.push(mat("mm.0.weight".into(), merged, merged));
            v.push(vec1("mm.0.bias".into(), merged));
            v.push(mat("mm.2.weight".into(), merged, out));
            v.push(vec1("mm.2.bias".into(), out));
        }
    }
    // Qwen3-VL's deepstack mergers: a LayerNorm over the merged width and the same two linears.
    for i in 0..tower.n_deepstack {
        let n = |s: &str| format!("v.deepstack.{i}.{s}");
        v.push(vec1(n("norm.weight"), merged));
        v.push(vec1(n("norm.bias"), merged));
        v.push(mat(n("fc1.weight"), merged, merged));
        v.push(vec1(n("fc1.bias"), merged));
        v.push(mat(n("fc2.weight"), merged, out));
        v.push(vec1(n("fc2.bias"), out));
    }
    v
}

/// Bytes of the mmproj weights in a file of type `file`.
pub fn weight_bytes(tower: &VisionTower, file: GgmlType) -> Bytes {
    Bytes(tensors(tower, file).iter().map(Tensor::bytes).sum())
}

/// The clip compute buffer for the warmup image, on the device the projector runs on.
pub fn compute_buffer(tower: &VisionTower) -> Bytes {
    let n_pos = tower.warmup_patches();
    let side = u64::from(tower.warmup_image_size());
    let e = u64::from(tower.n_embd);
    let ff = u64::from(tower.n_ff);
    let p = u64::from(tower.patch_size);
    let f32b = 4u64;
    let row = n_pos * f32b;
    let image = side * side * 3 * f32b;
    match tower.kind {
        ProjectorKind::Gemma3 => Bytes(row * (3 * e + ff)),
        ProjectorKind::Qwen3Vl => {
            let positions = n_pos * 4 * 4;
            Bytes(image + positions + 9 * row * e)
        }
        ProjectorKind::Qwen25Vl => {
            // Input: the image, the im2col patches and output of its two patch convolutions, and
            // the transposed copy.
            let im2col = n_pos * p * p * 3 * f32b;
            let input = image + 2 * (im2col + row * e) + row * e;
            // Attention: residual, normed input, Q, K, V (f32) and the f16 K and V.
            let attention = row * e * 5 + n_pos * e * 2 * 2;
            // Gated feed-forward: residual, normed input, gate and up.
            let ffn = row * (2 * e + 2 * ff);
            let mask = n_pos * n_pos * (4 + 2);
            Bytes(input.max(attention).max(ffn) + mask)
        }
    }
}

/// Where the projector runs: with a GPU, on the first one unless `--no-mmproj-offload`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectorSettings {
    pub tower: VisionTower,
    /// The mmproj file's type (F16 as the converter writes by default, or Q8_0).
    pub file_type: GgmlType,
    /// `--mmproj-offload` (llama.cpp's default) or `--no-mmproj-offload`.
    pub offload: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gemma3_4b() -> VisionTower {
        // google/gemma-3-4b-it vision_config: SigLIP 27 x 1152, MLP 4304, 16 heads, patch 14,
        // image 896; text hidden_size 2560; 4096 learned positions ((896 / 14)^2).
        VisionTower {
            kind: ProjectorKind::Gemma3,
            n_layer: 27,
            n_embd: 1152,
            n_ff: 4304,
            n_head: 16,
            patch_size: 14,
            image_size: 896,
            n_merge: 4,
            n_embd_text: 2560,
            n_position: 4096,
            n_deepstack: 0,
        }
    }

    #[test]
    fn q8_0_keeps_rows_off_the_block_size_in_f16() {
        // ffn_down's rows are the MLP width, 4304 = 134.5 x 32: the converter writes it in F16.
        let ts = tensors(&gemma3_4b(), GgmlType::Q8_0);
        let down = ts
            .iter()
            .find(|t| t.name == "v.blk.0.ffn_down.weight")
            .unwrap();
        assert_eq!(down.ty, GgmlType::F16);
        let up = ts
            .iter()
            .find(|t| t.name == "v.blk.0.ffn_up.weight")
            .unwrap();
        assert_eq!(up.ty, GgmlType::Q8_0);
    }

    #[test]
    fn warmup_sizes_follow_clip_cpp() {
        // Gemma 3 warms up at its image size: (896 / 14)^2 = 4096 patches. Qwen: 46 x 14 x 2 = 1288
        // pixels, (1288 / 14)^2 = 92^2 = 8464 patches.
        assert_eq!(gemma3_4b().warmup_patches(), 4096);
        let q = VisionTower {
            kind: ProjectorKind::Qwen25Vl,
            patch_size: 14,
            n_merge: 2,
            ..gemma3_4b()
        };
        assert_eq!(q.warmup_image_size(), 1288);
        assert_eq!(q.warmup_patches(), 8464);
    }

    #[test]
    fn a_tower_out_of_its_limits_is_refused_by_name() {
        let bad = VisionTower {
            n_head: 7,
            ..gemma3_4b()
        };
        assert_eq!(bad.validate().unwrap_err().0, "n_head");
        let deep = VisionTower {
            n_layer: 100_000,
            ..gemma3_4b()
        };
        assert_eq!(deep.validate().unwrap_err().0, "n_layer");
        assert!(gemma3_4b().validate().is_ok());
    }
}
