//! Every importer on real runtime output quoted in public threads (tests/fixtures/import/SOURCES.md
//! names each source). Expected values are the numbers printed in the excerpts, converted with
//! 1 MiB = 2^20 bytes and 1 GiB = 2^30 bytes (1 GB = 1e9 bytes for mlx-lm).
#![allow(clippy::unwrap_used, clippy::panic)]

use headroom_core::measure::{MeasurementRecord, RunStatus, SourceKind, SpeedKind};
use headroom_core::Bytes;
use headroom_formats::import::{detect, import_str, ImportFormat};

fn fixture(path: &str) -> String {
    let p = format!("{}/fixtures/import/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn import(format: ImportFormat, path: &str) -> Vec<MeasurementRecord> {
    import_str(format, path, &fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn mib(v: f64) -> Option<Bytes> {
    Some(Bytes::from_mib(v))
}

fn gib(v: f64) -> Option<Bytes> {
    Some(Bytes::from_gib(v))
}

#[test]
fn llama_bench_markdown_with_depth() {
    let r = import(
        ImportFormat::LlamaBenchMarkdown,
        "llama_bench/readme_markdown.txt",
    );
    assert_eq!(r.len(), 4);
    let s: Vec<_> = r.iter().map(|r| &r.speed[0]).collect();
    assert_eq!(
        (s[0].kind, s[0].n_prompt, s[0].depth),
        (SpeedKind::Prefill, 512, 0)
    );
    assert_eq!(s[0].tokens_per_sec, 7340.20);
    assert_eq!(s[0].stddev, Some(23.45));
    assert_eq!(
        (s[3].kind, s[3].n_gen, s[3].depth),
        (SpeedKind::Decode, 128, 512)
    );
    assert_eq!(s[3].tokens_per_sec, 116.71);
    assert_eq!(r[0].quant.as_deref(), Some("Q4_K_M"));
    assert_eq!(r[0].model_size, gib(4.36));
    assert_eq!(r[0].n_params, Some(7_620_000_000));
    assert_eq!(r[0].settings.n_gpu_layers, Some(-1));
    assert_eq!(r[0].backend.as_deref(), Some("CUDA"));
    assert!(r
        .iter()
        .all(|r| r.source.origin == "llama_bench/readme_markdown.txt"));
}

#[test]
fn llama_bench_markdown_old_columns_and_build_line() {
    let r = import(
        ImportFormat::LlamaBenchMarkdown,
        "llama_bench/pr2771_markdown.txt",
    );
    assert_eq!(r.len(), 3);
    assert_eq!(r[2].speed[0].tokens_per_sec, 619.07);
    assert_eq!(r[2].speed[0].n_prompt, 512);
    assert_eq!(r[1].speed[0].stddev, Some(100.20));
    assert_eq!(r[0].settings.n_gpu_layers, Some(99));
    assert_eq!(r[0].quant.as_deref(), Some("Q4_0"));
    assert_eq!(r[0].model_size, gib(3.56));
    assert!(r
        .iter()
        .all(|x| x.runtime_version.as_deref() == Some("d0f77b1 (1055)")));
    assert_eq!(r[0].devices[0].name, "NVIDIA GeForce RTX 3090 Ti");
}

fn check_llama_bench_readme(r: &[MeasurementRecord], pp: f64, tg: f64) {
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].speed[0].kind, SpeedKind::Prefill);
    assert_eq!(r[0].speed[0].n_prompt, 512);
    assert_eq!(r[0].speed[0].tokens_per_sec, pp);
    assert_eq!(r[1].speed[0].kind, SpeedKind::Decode);
    assert_eq!(r[1].speed[0].n_gen, 128);
    assert_eq!(r[1].speed[0].tokens_per_sec, tg);
    assert_eq!(r[0].model.as_deref(), Some("Qwen2.5-7B-Instruct-Q4_K_M"));
    assert_eq!(r[0].quant.as_deref(), Some("Q4_K_M"));
    assert_eq!(r[0].model_size, Some(Bytes(4_677_120_000)));
    assert_eq!(r[0].n_params, Some(7_615_616_512));
    assert_eq!(r[0].settings.n_batch, Some(2048));
    assert_eq!(r[0].settings.n_ubatch, Some(512));
    assert_eq!(r[0].settings.type_k.as_deref(), Some("f16"));
    assert_eq!(r[0].devices[0].name, "NVIDIA GeForce RTX 4080");
    assert_eq!(r[0].runtime_version.as_deref(), Some("8cf427ff (5163)"));
}

#[test]
fn llama_bench_json_csv_jsonl() {
    let json = import(ImportFormat::LlamaBenchJson, "llama_bench/readme.json");
    check_llama_bench_readme(&json, 7100.002165, 118.881588);
    // flash_attn -1 is "auto": not known.
    assert_eq!(json[0].settings.flash_attn, None);
    let csv = import(ImportFormat::LlamaBenchCsv, "llama_bench/readme.csv");
    check_llama_bench_readme(&csv, 7285.676949, 119.915244);
    assert_eq!(csv[0].speed[0].stddev, Some(100.064434));
    let jsonl = import(ImportFormat::LlamaBenchJson, "llama_bench/readme.jsonl");
    check_llama_bench_readme(&jsonl, 7263.609157, 119.844681);
    assert_eq!(jsonl[0].settings.flash_attn, Some(false));
    assert_eq!(jsonl[0].settings.n_gpu_layers, Some(99));
}

#[test]
fn llama_cpp_log_two_gpus_old_names() {
    let r = import(ImportFormat::LlamaCppLog, "llama_cpp/pr6122_two_gpus.txt");
    assert_eq!(r.len(), 1);
    let r = &r[0];
    let m = |d: &str| r.memory.iter().find(|m| m.device == d).unwrap();
    assert_eq!(m("CPU").weights, mib(1640.62));
    assert_eq!(m("CUDA0").weights, mib(5434.38));
    assert_eq!(m("CUDA1").weights, mib(13989.53));
    assert_eq!(m("CUDA0").kv_cache, mib(1536.00));
    assert_eq!(m("CUDA1").kv_cache, mib(3584.00));
    assert_eq!(m("CUDA_Host").output, mib(1.95));
    assert_eq!(m("CUDA0").compute, mib(672.01));
    assert_eq!(r.settings.n_ctx, Some(4096));
    assert_eq!(r.settings.n_batch, Some(2048));
    assert_eq!(r.settings.n_ubatch, Some(512));
    assert_eq!(r.settings.type_k.as_deref(), Some("f16"));
    assert_eq!(r.devices.len(), 2);
    assert_eq!(r.devices[1].name, "NVIDIA GeForce RTX 3090 Ti");
    assert_eq!(r.status, RunStatus::Ok);
}

#[test]
fn llama_cpp_log_new_names_and_kv_types() {
    let r = import(
        ImportFormat::LlamaCppLog,
        "llama_cpp/issue9390_eight_gpus.txt",
    );
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert_eq!(r.settings.n_ctx, Some(16384));
    assert_eq!(r.settings.n_seq, Some(8));
    assert_eq!(r.settings.n_ubatch, Some(256));
    assert_eq!(r.settings.flash_attn, Some(false));
    assert_eq!(r.settings.type_k.as_deref(), Some("q4_0"));
    assert_eq!(r.settings.type_v.as_deref(), Some("f16"));
    let m = |d: &str| r.memory.iter().find(|m| m.device == d).unwrap();
    assert_eq!(m("CUDA7").weights, mib(19728.83));
    assert_eq!(m("CUDA3").kv_cache, mib(5096.00));
}

#[test]
fn llama_cpp_log_mapped_buffers_add_up() {
    let r = import(
        ImportFormat::LlamaCppLog,
        "llama_cpp/koboldcpp1528_cpu_mapped.txt",
    );
    let w = r[0].memory[0].weights.unwrap();
    // 22722.80 + 22813.64 + 22797.14 + 12113.72 MiB, each rounded to bytes.
    let sum = [22722.80, 22813.64, 22797.14, 12113.72]
        .iter()
        .map(|v| Bytes::from_mib(*v).0)
        .sum::<u64>();
    assert_eq!(w.0, sum);
    assert_eq!(r[0].settings.n_ctx, Some(32768));
    assert_eq!(r[0].settings.flash_attn, Some(true));
}

#[test]
fn llama_cpp_memory_breakdown_both_layouts() {
    let r = import(
        ImportFormat::LlamaCppLog,
        "llama_cpp/pr15860_memory_breakdown.txt",
    );
    let r = &r[0];
    let m = |d: &str| r.memory.iter().find(|m| m.device == d).unwrap();
    // CUDA0: 24080 = 9436 + (14193 = 13169 + 38 + 985) + 451
    assert_eq!(m("CUDA0").total, mib(14193.0));
    assert_eq!(m("CUDA0").free, mib(9436.0));
    assert_eq!(m("CUDA0").weights, mib(13169.0));
    assert_eq!(m("CUDA0").compute, mib(985.0));
    assert_eq!(m("CUDA0").unaccounted, mib(451.0));
    assert_eq!(m("CUDA2").compute, mib(548.0));
    // CPU: 515628   72 = 0 + 57 + 15
    assert_eq!(m("CPU").total, mib(72.0));
    assert_eq!(m("CPU").compute, mib(15.0));
    assert_eq!(r.devices[0].name, "CUDA0 (RTX 4090)");
    assert_eq!(r.devices[0].memory_total, mib(24080.0));

    let r = import(
        ImportFormat::LlamaCppLog,
        "llama_cpp/ollama17482_memory_breakdown.txt",
    );
    let r = &r[0];
    let m = |d: &str| r.memory.iter().find(|m| m.device == d).unwrap();
    // | - CUDA0 (RTX 3090) | 24124 = 23860 + (15946 = 15364 + 411 + 170) + -15681 |
    assert_eq!(m("CUDA0").total, mib(15946.0));
    assert_eq!(m("CUDA0").weights, mib(15364.0));
    assert_eq!(m("CUDA0").unaccounted, None);
    // | - Host | 804 = 682 + 0 + 122 |
    assert_eq!(m("Host").total, mib(804.0));
    assert_eq!(m("Host").weights, mib(682.0));
    assert_eq!(m("Host").compute, mib(122.0));
}

#[test]
fn llama_cpp_current_cpu_log_with_the_fit_probe() {
    // The memory breakdown `common_params_fit` prints before the model loads is a projection:
    // one record, from the buffers the run allocated.
    let r = import(
        ImportFormat::LlamaCppLog,
        "llama_cpp/harness_cpu_fit_probe.txt",
    );
    assert_eq!(r.len(), 1, "{r:?}");
    let r = &r[0];
    assert_eq!(r.model.as_deref(), Some("qwen3-0.6b"));
    assert_eq!(r.quant.as_deref(), Some("F16"));
    assert_eq!(r.settings.n_ctx, Some(4096));
    // `flash_attn = auto`, then `resolve_fused_ops: Flash Attention enabled`.
    assert_eq!(r.settings.flash_attn, Some(true));
    let m = |d: &str| r.memory.iter().find(|m| m.device == d).unwrap();
    assert_eq!(m("CPU_Mapped").weights, mib(1137.0));
    assert_eq!(m("CPU").kv_cache, mib(448.0));
    assert_eq!(m("CPU").compute, mib(312.76));
    // The breakdown's `Host` row (1897 = 1137 + 448 + 312) sums the buffers above: its total is
    // kept, its parts are not counted a second time.
    assert_eq!(m("Host").total, mib(1897.0));
    assert_eq!(m("Host").weights, None);
    let host = &r.memory_by_slot()[0].1;
    assert_eq!(host.weights, mib(1137.0));
}

#[test]
fn llama_cpp_allocation_failure_marks_the_record() {
    let r = import(ImportFormat::LlamaCppLog, "llama_cpp/ik235_kv_self_oom.txt");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, RunStatus::Failed);
    assert!(r[0].notes.iter().any(|n| n.contains("cudaMalloc failed")));
    let m = r[0].memory.iter().find(|m| m.device == "CUDA14").unwrap();
    assert_eq!(m.kv_cache, mib(180.0));
}

#[test]
fn vllm_startup_logs() {
    let r = import(ImportFormat::VllmLog, "vllm/pr12569_v1_startup.txt");
    assert_eq!(r.len(), 1);
    // "Loading model weights took 67.7229 GB" (vLLM's GB is GiB).
    assert_eq!(r[0].memory[0].weights, gib(67.7229));
    let kv = r[0].kv_capacity.as_ref().unwrap();
    assert_eq!(kv.blocks, Some(1381));
    assert_eq!(kv.per_request_tokens, Some(2048));
    assert_eq!(kv.max_concurrency, Some(10.79));

    let r = import(ImportFormat::VllmLog, "vllm/issue21348_kv_cache.txt");
    assert_eq!(r[0].memory[0].kv_cache, gib(8.11));
    assert_eq!(r[0].kv_capacity.as_ref().unwrap().tokens, Some(178_880));

    let r = import(ImportFormat::VllmLog, "vllm/windows17_graph_capture.txt");
    assert_eq!(r[0].memory[0].graphs, gib(0.11));
    assert_eq!(r[0].memory[0].kv_cache, gib(6.13));

    let r = import(ImportFormat::VllmLog, "vllm/issue38820_model_loading.txt");
    assert_eq!(r[0].memory[0].device, "rank0");
    assert_eq!(r[0].memory[0].weights, gib(12.66));
}

#[test]
fn vllm_v0_profile_and_engine_config() {
    let r = import(ImportFormat::VllmLog, "vllm/pr14447_v0_profile.txt");
    assert_eq!(r.len(), 1);
    let m = &r[0].memory[0];
    // "(VllmWorkerProcess pid=507)": no rank in the prefix, so rank 0.
    assert_eq!(m.device, "rank0");
    assert_eq!(m.weights, gib(21.21));
    assert_eq!(m.compute, gib(0.37));
    assert_eq!(m.kv_cache, gib(1.57));
    assert_eq!(r[0].settings.gpu_memory_utilization, Some(0.99));

    let r = import(ImportFormat::VllmLog, "vllm/pr15960_engine_config.txt");
    // Settings alone are no readings: the log yields no record until it shows memory.
    assert!(r.is_empty());
    let text = fixture("vllm/pr15960_engine_config.txt") + "Available KV cache memory: 1.50 GiB\n";
    let r = import_str(ImportFormat::VllmLog, "x", &text).unwrap();
    assert_eq!(
        r[0].runtime_version.as_deref(),
        Some("v0.7.4.dev713+gb4961126")
    );
    assert_eq!(
        r[0].model.as_deref(),
        Some("/disc/data1/deepseek/DeepSeek-V2-Lite-Chat/")
    );
    assert_eq!(r[0].settings.n_ctx, Some(32768));
    assert_eq!(r[0].settings.n_devices, Some(1));
}

#[test]
fn vllm_bench_serve_result() {
    let r = import(ImportFormat::VllmLog, "vllm/pr18566_bench_serve.txt");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].source.kind, SourceKind::VllmBenchServe);
    let s = r[0].serving.as_ref().unwrap();
    assert_eq!(s.successful_requests, Some(1000));
    assert_eq!(s.duration_s, Some(30.85));
    assert_eq!(s.input_tokens, Some(229_711));
    assert_eq!(s.output_tokens, Some(203_068));
    assert_eq!(s.output_tokens_per_sec, Some(6582.87));
    assert_eq!(s.total_tokens_per_sec, Some(14029.44));
    assert_eq!(s.median_ttft_ms, Some(9459.70));
    assert_eq!(s.p99_tpot_ms, Some(211.21));
    assert_eq!(s.p99_itl_ms, Some(214.35));
}

#[test]
fn mlx_lm_generate() {
    let r = import(ImportFormat::MlxLm, "mlx/issue1029_mac_mini.txt");
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].model.as_deref(),
        Some("mlx-community/Meta-Llama-3.1-8B-Instruct-4bit")
    );
    assert_eq!(r[0].speed[0].kind, SpeedKind::Prefill);
    assert_eq!(r[0].speed[0].n_prompt, 32159);
    assert_eq!(r[0].speed[0].tokens_per_sec, 261.786);
    assert_eq!(r[0].speed[1].kind, SpeedKind::Decode);
    assert_eq!(r[0].speed[1].n_gen, 1000);
    assert_eq!(r[0].speed[1].depth, 32159);
    assert_eq!(r[0].speed[1].tokens_per_sec, 23.146);
    assert_eq!(r[0].peak_memory, Some(Bytes(13_523_000_000)));

    let r = import(ImportFormat::MlxLm, "mlx/pr396_benchmark.txt");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].speed[0].n_prompt, 2048);
    assert_eq!(r[0].speed[0].tokens_per_sec, 2902.166);
    assert_eq!(r[0].speed[1].n_gen, 128);
    assert_eq!(r[0].speed[1].depth, 2048);
    assert_eq!(r[0].speed[1].tokens_per_sec, 205.099);
    assert_eq!(r[0].peak_memory, Some(Bytes(3_285_000_000)));

    let r = import(ImportFormat::MlxLm, "mlx/pr40_causal_mask.txt");
    assert_eq!(r[0].speed.len(), 1);
    assert_eq!(r[0].peak_memory, Some(Bytes(12_257_000_000)));
}

#[test]
fn ollama_verbose() {
    let r = import(ImportFormat::OllamaVerbose, "ollama/issue1806_mistral.txt");
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert_eq!(r.speed[0].n_prompt, 11);
    assert_eq!(r.speed[0].tokens_per_sec, 53.77);
    assert_eq!(r.speed[1].n_gen, 120);
    assert_eq!(r.speed[1].depth, 11);
    assert_eq!(r.speed[1].tokens_per_sec, 24.61);
    let d = |k: &str| r.durations.iter().find(|(n, _)| n == k).unwrap().1;
    assert!((d("total") - 5.088275983).abs() < 1e-12);
    assert!((d("load") - 0.001365523).abs() < 1e-15);

    let r = import(
        ImportFormat::OllamaVerbose,
        "ollama/llm_ollama32_minutes.txt",
    );
    let d = |k: &str| r[0].durations.iter().find(|(n, _)| n == k).unwrap().1;
    // 2m27.989997625s and 2m7.682s
    assert!((d("total") - 147.989997625).abs() < 1e-9);
    assert!((d("eval") - 127.682).abs() < 1e-9);
    let r = import(ImportFormat::OllamaVerbose, "ollama/pr12742_minutes.txt");
    assert_eq!(r[0].speed[0].n_prompt, 32768);
    assert_eq!(r[0].speed[1].tokens_per_sec, 103.16);
}

#[test]
fn runtime_output_reads_every_log_and_detection_picks_the_table_formats() {
    let all = [
        "llama_cpp/pr6122_two_gpus.txt",
        "vllm/pr12569_v1_startup.txt",
        "mlx/issue1029_mac_mini.txt",
        "ollama/issue1806_mistral.txt",
    ]
    .map(fixture)
    .join("\n");
    let r = import_str(ImportFormat::RuntimeOutput, "all", &all).unwrap();
    let kinds: Vec<SourceKind> = r.iter().map(|r| r.source.kind).collect();
    for k in [
        SourceKind::LlamaCppLog,
        SourceKind::VllmLog,
        SourceKind::MlxLm,
        SourceKind::OllamaVerbose,
    ] {
        assert_eq!(
            kinds.iter().filter(|x| **x == k).count(),
            1,
            "{k:?} in {kinds:?}"
        );
    }
    assert_eq!(
        detect(&fixture("llama_bench/readme.csv")),
        ImportFormat::LlamaBenchCsv
    );
    assert_eq!(
        detect(&fixture("llama_bench/readme.json")),
        ImportFormat::LlamaBenchJson
    );
    assert_eq!(
        detect(&fixture("llama_bench/readme.jsonl")),
        ImportFormat::LlamaBenchJson
    );
    assert_eq!(
        detect(&fixture("llama_bench/readme_markdown.txt")),
        ImportFormat::LlamaBenchMarkdown
    );
    assert_eq!(
        detect(&fixture("vllm/pr18566_bench_serve.txt")),
        ImportFormat::RuntimeOutput
    );
}

#[test]
fn malformed_table_inputs_name_the_line() {
    let e = import_str(
        ImportFormat::LlamaBenchCsv,
        "x",
        &fixture("llama_bench/readme_current_mismatched.csv"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "llama-bench CSV row at line 2: 41 fields where the header has 42"
    );
    let e = import_str(ImportFormat::LlamaBenchCsv, "x", "a,avg_ts\n1,2,3\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "llama-bench CSV row at line 2: 3 fields where the header has 2"
    );
    let e = import_str(ImportFormat::LlamaBenchJson, "x", "[{\"avg_ts\": 1").unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    let e = import_str(ImportFormat::LlamaBenchJson, "x", "{\"avg_ts\": 1}").unwrap_err();
    assert!(e.to_string().contains("neither n_prompt nor n_gen"), "{e}");
    let e = import_str(ImportFormat::ValidationCsv, "x", "what,ever\n").unwrap_err();
    assert!(e.to_string().contains("line 1"), "{e}");
}
