//! `plan`: one row per distinct model, a context column, measured quality, the ranking, and no
//! system RAM unless it is given.

use headroom_core::memory::llama_cpp::LlamaCppSettings;
use headroom_core::plan::{fit, Runtime, Scenario};
use headroom_core::quant::{stored_tensors, QualityGrade, Quant, WeightSummary};
use headroom_core::speed::rank::{plan, PlanContext, PlanEntry};
use headroom_core::speed::{UseCase, VerdictKind};
use headroom_core::Bytes;
use headroom_data::{catalog, quality_table, speed_params_for};

fn base(device: &str, ram_gib: Option<f64>) -> Scenario {
    let cat = catalog().expect("catalog loads");
    let m = cat.model("llama-3-8b").expect("catalog model").spec.clone();
    let weights = stored_tensors(&m, &Quant::Float16);
    Scenario {
        weight_summary: WeightSummary::new(m.n_layer, &weights),
        weights,
        quant: "f16".into(),
        model: m,
        devices: vec![cat.hardware(device).expect("catalog device")],
        host_ram: ram_gib.map(Bytes::from_gib),
        wired_limit: None,
        runtime: Runtime::LlamaCpp(LlamaCppSettings::default()),
        beyond_trained: false,
        notes: Vec::new(),
    }
}

fn quants(names: &[&str]) -> Vec<Quant> {
    names
        .iter()
        .map(|q| Quant::parse(q).expect("known quantization"))
        .collect()
}

fn run(device: &str, ram_gib: Option<f64>, qs: &[&str], u: UseCase) -> Vec<PlanEntry> {
    let cat = catalog().expect("catalog loads");
    let models: Vec<_> = cat
        .models
        .iter()
        .map(|m| (m.id().to_string(), m.spec.clone()))
        .collect();
    let b = base(device, ram_gib);
    let cx = PlanContext {
        base: &b,
        params: speed_params_for("llama.cpp").expect("speed parameters"),
        use_case: u,
        quality: Some(quality_table().expect("quality table")),
    };
    plan(&models, &quants(qs), &cx)
}

const LADDER: &[&str] = &["Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "F16"];

#[test]
fn one_row_per_distinct_model_in_verdict_then_score_order() {
    let out = run("rtx-4090", None, LADDER, UseCase::Chat);
    assert!(out.len() >= 10, "{}", out.len());
    let cat = catalog().unwrap();
    let spec = |id: &str| {
        let mut s = cat.model(id).unwrap().spec.clone();
        s.name.clear();
        s.n_ctx_train = 0;
        s
    };
    for (i, a) in out.iter().enumerate() {
        for b in &out[i + 1..] {
            assert_ne!(a.model, b.model);
            assert_ne!(
                spec(&a.model),
                spec(&b.model),
                "{} and {}",
                a.model,
                b.model
            );
        }
        // a folded entry has the row's shapes and no longer a trained context
        for o in &a.same_shapes {
            assert_eq!(spec(o), spec(&a.model));
            assert!(
                cat.model(o).unwrap().spec.n_ctx_train
                    <= cat.model(&a.model).unwrap().spec.n_ctx_train
            );
        }
        assert!(!a.other_quants.contains(&a.quant));
    }
    let tier = |v: VerdictKind| match v {
        VerdictKind::Usable => 0,
        VerdictKind::RunsButSlow => 1,
        VerdictKind::ContextTooShort => 2,
        VerdictKind::PoorQuality => 3,
        VerdictKind::DoesNotFit => 4,
    };
    assert!(out.windows(2).all(|w| {
        let (a, b) = (tier(w[0].verdict.verdict), tier(w[1].verdict.verdict));
        a < b || (a == b && w[0].score >= w[1].score)
    }));
    assert!(out
        .iter()
        .all(|e| e.verdict.verdict != VerdictKind::DoesNotFit));
    // DeepSeek V3's 671B parameters are over 300 GB at 3.9 bits, beyond one 24 GB card
    assert!(out.iter().all(|e| e.model != "deepseek-v3"));
}

#[test]
fn the_context_column_is_the_edge_that_fits() {
    let out = run("rtx-4090", None, LADDER, UseCase::Chat);
    let cat = catalog().unwrap();
    for e in out.iter().take(8) {
        let m = cat.model(&e.model).unwrap().spec.clone();
        let ctx = e.max_context.expect("a row that fits has a context");
        // at least the use case's 4096 tokens (it fits them), at most the trained length
        assert!(ctx >= 4096 && ctx <= m.n_ctx_train, "{} {ctx}", e.model);
        let mut s = base("rtx-4090", None);
        let weights = stored_tensors(&m, &Quant::parse(&e.quant).unwrap());
        s.weight_summary = WeightSummary::new(m.n_layer, &weights);
        s.weights = weights;
        s.model = m.clone();
        s.runtime.set_n_ctx(ctx);
        assert!(fit(&s).fits, "{} {} at {ctx}", e.model, e.quant);
        if ctx < m.n_ctx_train {
            // llama.cpp pads the context to 256 tokens: the next step does not fit
            s.runtime.set_n_ctx(ctx + 256);
            assert!(!fit(&s).fits, "{} {} at {}", e.model, e.quant, ctx + 256);
        }
    }
}

#[test]
fn a_one_bit_70b_is_poor_quality_and_says_why() {
    // Llama 3.3 70B at IQ1_S is about 70.6e9 x 1.56..2 bits = 14-18 GB: it fits a 24 GB card.
    // llama.cpp's Llama 3 8B scoreboard measures IQ1_S at a mean KL divergence of 2.254554 from
    // F16 (perplexity 60.69 against 6.23), past the 0.5 of the "poor" grade.
    let out = run("rtx-4090", None, &["IQ1_S"], UseCase::Chat);
    let e = out
        .iter()
        .find(|e| e.model == "llama-3.3-70b" || e.same_shapes.iter().any(|s| s == "llama-3.3-70b"))
        .expect("a 70B at IQ1_S fits 24 GB");
    assert_eq!(e.verdict.verdict, VerdictKind::PoorQuality, "{e:?}");
    let q = e.quality.as_ref().unwrap();
    assert_eq!(q.grade, QualityGrade::Poor);
    assert_eq!(q.kld, 2.254554);
    assert!(q.note.as_deref().unwrap().contains("Llama 3 8B"));
    assert!(
        e.verdict
            .reasons
            .iter()
            .any(|r| r.contains("KL divergence 2.255") && r.contains("poor")),
        "{:?}",
        e.verdict.reasons
    );
    // IQ1_S everywhere: nothing is usable
    assert!(out.iter().all(|e| e.verdict.verdict != VerdictKind::Usable));
}

#[test]
fn a_better_quantization_of_the_same_model_wins_when_speed_is_capped() {
    // Llama 3 8B on a 4090: Q4_K_M (KLD 0.031273) and Q8_0 (0.001355) both generate well over
    // four times the 5.3 tok/s chat needs (the RTX 4090 reads 1008 GB/s; Q8_0's 8.5 GB gives
    // ~100 tok/s at most), so only the quality term tells them apart: Q8_0 is chosen.
    let out = run("rtx-4090", None, &["Q4_K_M", "Q8_0"], UseCase::Chat);
    let e = out
        .iter()
        .find(|e| e.model == "llama-3-8b" || e.same_shapes.iter().any(|s| s == "llama-3-8b"))
        .unwrap();
    assert_eq!(e.quant, "Q8_0");
    assert_eq!(e.other_quants, vec!["Q4_K_M".to_string()]);
}

#[test]
fn system_ram_is_used_only_when_given() {
    // Mistral Small 24B at Q8_0 (23.6e9 x 8.5 bits = 25 GB) is larger than a 24 GB card: it
    // fits only with layers in system RAM, and only when RAM is given.
    let without = run("rtx-4090", None, &["Q8_0"], UseCase::Chat);
    assert!(without.iter().all(|e| e.verdict.gpu_layers.is_none()));
    assert!(without.iter().all(|e| e.model != "mistral-small-24b"));
    let with = run("rtx-4090", Some(64.0), &["Q8_0"], UseCase::Chat);
    let e = with
        .iter()
        .find(|e| e.model == "mistral-small-24b")
        .expect("fits with system RAM");
    assert!(e.verdict.gpu_layers.is_some());
    assert!(e.max_context.is_some());
}

#[test]
fn a_local_model_is_a_row_named_by_its_path() {
    // the user's own Q4_K_M file of Llama 3 8B (its tensors as llama-quantize's mix stores them)
    let cat = catalog().unwrap();
    let m = cat.model("llama-3-8b").unwrap().spec.clone();
    let q = Quant::parse("Q4_K_M").unwrap();
    let local = headroom_core::speed::rank::LocalModel {
        id: "lmstudio/meta/Llama-3-8B-Q4_K_M.gguf".into(),
        weights: stored_tensors(&m, &q),
        spec: m,
        quant: q.label(),
    };
    let b = base("rtx-4090", None);
    let cx = PlanContext {
        base: &b,
        params: speed_params_for("llama.cpp").unwrap(),
        use_case: UseCase::Chat,
        quality: Some(quality_table().unwrap()),
    };
    let out = headroom_core::speed::rank::plan_local(vec![local], &cx);
    assert_eq!(out.len(), 1);
    let e = &out[0];
    assert_eq!(e.model, "lmstudio/meta/Llama-3-8B-Q4_K_M.gguf");
    // the scoreboard's Q4_K_M row without an importance matrix, measured on this very model
    let qs = e.quality.as_ref().unwrap();
    assert_eq!(qs.kld, 0.031273);
    assert_eq!(qs.note, None);
    assert_eq!(e.verdict.verdict, VerdictKind::Usable);
    // 8192 trained tokens of a 4.9 GB file fit 24 GB whole
    assert_eq!(e.max_context, Some(8192));
}

#[test]
fn context_zero_is_the_trained_length_for_every_runtime() {
    // Qwen3-8B's config.json: max_position_embeddings 40960, a multiple of llama.cpp's 256-cell
    // padding and of mlx-lm's 256-token KV step, so every runtime allocates exactly 40,960.
    for (runtime, quant, hw) in [
        ("llama.cpp", "Q4_K_M", "h100-sxm"),
        ("vllm", "bf16", "h100-sxm"),
        ("transformers", "bf16", "h100-sxm"),
        ("mlx", "mlx-4bit", "m3-ultra"),
    ] {
        let req = headroom_data::ScenarioRequest {
            model: "qwen3-8b".into(),
            quant: Some(quant.into()),
            hardware: vec![hw.into()],
            runtime: Some(runtime.into()),
            ctx: Some(0),
            ..headroom_data::ScenarioRequest::default()
        };
        let s = headroom_data::build(&req, None).expect("scenario");
        assert_eq!(s.model.context_or_trained(0), 40_960, "{runtime}");
        assert_eq!(s.model.context_or_trained(4096), 4096, "{runtime}");
        assert_eq!(fit(&s).n_ctx, 40_960, "{runtime}");
    }
}
