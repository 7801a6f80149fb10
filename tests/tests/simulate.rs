//! The capacity simulator against queueing theory, Little's law, the memory model's KV capacity
//! and the monotonicity a capacity answer must have.

use headroom_core::memory::kv_cache;
use headroom_core::memory::llama_cpp::LlamaCppSettings;
use headroom_core::memory::vllm::{self, VllmSettings};
use headroom_core::quant::{stored_tensors, GgufMix, Quant};
use headroom_core::simulate::{
    max_rate, replicas_needed, simulate, Arrivals, ConstantSteps, EngineConfig, Lengths,
    LlamaServerConfig, OllamaConfig, Report, Roofline, Scaled, Slo, StepTimes, VllmConfig,
    Workload,
};

fn poisson(rate: f64, prompt: Lengths, output: Lengths, requests: u32, seed: u64) -> Workload {
    Workload {
        arrivals: Arrivals::Poisson { rate },
        prompt,
        output,
        requests,
        seed,
    }
}

/// Decode passes of `d` seconds and free prefill: a request's service is `(output - 1) x d`.
fn decode_only(d: f64) -> ConstantSteps {
    ConstantSteps {
        prefill_per_token: 0.0,
        decode_step: d,
    }
}

fn run<S: StepTimes + ?Sized>(w: &Workload, e: &EngineConfig, s: &S) -> Report {
    simulate(w, e, s).expect("valid inputs")
}

#[test]
fn serial_server_reproduces_m_d_1_mean_wait() {
    // Fixed output of 101 tokens at 10 ms a decode pass: service D = 1 s. Poisson at 0.6/s, so
    // rho = 0.6 and the Pollaczek-Khinchine mean wait for M/D/1 is rho / (2 mu (1 - rho)) = 0.75 s.
    let w = poisson(0.6, Lengths::Fixed(16), Lengths::Fixed(101), 1_000_000, 1);
    let r = run(&w, &EngineConfig::Serial, &decode_only(0.01));
    let wq = 0.6 / (2.0 * 1.0 * (1.0 - 0.6));
    assert!(
        (r.queue_wait.mean / wq - 1.0).abs() < 0.02,
        "{} vs {wq}",
        r.queue_wait.mean
    );
    assert_eq!(r.completed, 1_000_000);
}

#[test]
fn serial_server_reproduces_m_m_1_mean_wait() {
    // Output ceil(Exp(1000)) tokens: output - 1 is geometric on 0, 1, ... with q = exp(-1/1000),
    // mean q/(1-q) = 999.5; at 1 ms a pass the service has mean E[S] = 0.9995 s. Its second moment
    // is (1 + 1/q) E[S]^2 = 2.001 E[S]^2 against 2 E[S]^2 for an exponential: the M/M/1 formula
    // holds to 0.05%. Poisson at rho = 0.5: Wq = rho / (mu - lambda) = E[S].
    let q = (-1.0f64 / 1000.0).exp();
    let es = 0.001 * q / (1.0 - q);
    let lambda = 0.5 / es;
    let w = poisson(
        lambda,
        Lengths::Fixed(16),
        Lengths::Exponential { mean: 1000.0 },
        1_000_000,
        2,
    );
    let r = run(&w, &EngineConfig::Serial, &decode_only(0.001));
    let wq = 0.5 / (1.0 / es - lambda);
    assert!(
        (r.queue_wait.mean / wq - 1.0).abs() < 0.02,
        "{} vs {wq}",
        r.queue_wait.mean
    );
}

fn engines() -> Vec<EngineConfig> {
    vec![
        EngineConfig::Serial,
        EngineConfig::LlamaServer(LlamaServerConfig {
            n_ctx: 8192,
            n_parallel: 4,
            n_batch: 2048,
            kv_unified: false,
            max_queue: None,
        }),
        EngineConfig::LlamaServer(LlamaServerConfig {
            n_ctx: 8192,
            n_parallel: 8,
            n_batch: 512,
            kv_unified: true,
            max_queue: None,
        }),
        EngineConfig::Ollama(OllamaConfig {
            num_parallel: 2,
            max_queue: 8,
            ..OllamaConfig::default()
        }),
        EngineConfig::Vllm(VllmConfig {
            kv_tokens: 6144,
            block_size: 16,
            max_num_seqs: 16,
            max_num_batched_tokens: 512,
            max_model_len: 4096,
        }),
    ]
}

/// A step model with batching gains: a decode pass costs 20 ms plus 1 ms a sequence, prefill
/// 20 ms plus 0.1 ms a token.
#[derive(Debug)]
struct Batched;

impl StepTimes for Batched {
    fn prefill(&self, tokens: u32, _context: u32, _batch: u32) -> f64 {
        0.02 + 1e-4 * f64::from(tokens)
    }
    fn decode(&self, batch: u32, _mean_context: u32) -> f64 {
        0.02 + 0.001 * f64::from(batch)
    }
}

#[test]
fn littles_law_holds_in_every_run() {
    // L (time-integrated over events) = lambda W (from per-request latencies), and Lq = lambda Wq,
    // for every engine, at light and heavy load, Poisson and bursty.
    for e in engines() {
        for rate in [0.2, 1.0, 4.0] {
            let w = poisson(
                rate,
                Lengths::Uniform { lo: 50, hi: 1500 },
                Lengths::LogNormal {
                    median: 120.0,
                    sigma: 0.8,
                },
                3000,
                3,
            );
            let bursty = Workload {
                arrivals: Arrivals::Bursty {
                    rate,
                    burstiness: 0.3,
                },
                ..w.clone()
            };
            for w in [w, bursty] {
                let r = run(&w, &e, &Batched);
                let lw = r.arrival_rate * r.e2e.mean;
                assert!(
                    (r.mean_in_system - lw).abs() <= 1e-9 * lw.max(1.0),
                    "{} at {rate}: L {} vs lambda W {lw}",
                    e.name(),
                    r.mean_in_system
                );
                let lwq = r.arrival_rate * r.queue_wait.mean;
                assert!(
                    (r.mean_queued - lwq).abs() <= 1e-6 * lwq.max(1.0),
                    "{} at {rate}: Lq {} vs lambda Wq {lwq}",
                    e.name(),
                    r.mean_queued
                );
                assert_eq!(r.completed + r.rejected, r.requests, "{}", e.name());
            }
        }
    }
}

/// The engines with queues that never refuse: a bounded queue caps the latency of the requests it
/// serves by refusing the rest, so beyond it more load raises refusals instead.
fn engines_unrefused() -> Vec<EngineConfig> {
    engines()
        .into_iter()
        .map(|e| match e {
            EngineConfig::Ollama(c) => EngineConfig::Ollama(OllamaConfig {
                max_queue: 100_000,
                ..c
            }),
            e => e,
        })
        .collect()
}

#[test]
fn more_load_never_lowers_latency_percentiles() {
    for e in engines_unrefused() {
        let mut prev: Option<Report> = None;
        for rate in [0.1, 0.3, 0.6, 1.0, 1.5, 2.5] {
            let w = poisson(
                rate,
                Lengths::Uniform { lo: 100, hi: 1000 },
                Lengths::Uniform { lo: 20, hi: 200 },
                2000,
                4,
            );
            let r = run(&w, &e, &Batched);
            assert_eq!(r.rejected, 0);
            if let Some(p) = &prev {
                for (a, b, what) in [
                    (p.ttft.p50, r.ttft.p50, "ttft p50"),
                    (p.ttft.p95, r.ttft.p95, "ttft p95"),
                    (p.ttft.p99, r.ttft.p99, "ttft p99"),
                    (p.e2e.p50, r.e2e.p50, "e2e p50"),
                    (p.e2e.p95, r.e2e.p95, "e2e p95"),
                    (p.e2e.p99, r.e2e.p99, "e2e p99"),
                ] {
                    assert!(
                        b >= a - 1e-9,
                        "{} {what}: {a} at less load, {b} at {rate}",
                        e.name()
                    );
                }
            }
            prev = Some(r);
        }
    }
}

#[test]
fn a_faster_device_never_raises_latency_percentiles() {
    for e in engines_unrefused() {
        for rate in [0.3, 1.0, 2.5] {
            let w = poisson(
                rate,
                Lengths::Uniform { lo: 100, hi: 1000 },
                Lengths::Uniform { lo: 20, hi: 200 },
                2000,
                5,
            );
            let slow = run(&w, &e, &Batched);
            for factor in [0.9, 0.5] {
                let fast = run(
                    &w,
                    &e,
                    &Scaled {
                        inner: &Batched,
                        factor,
                    },
                );
                for (a, b, what) in [
                    (slow.ttft.p50, fast.ttft.p50, "ttft p50"),
                    (slow.ttft.p95, fast.ttft.p95, "ttft p95"),
                    (slow.tpot.p95, fast.tpot.p95, "tpot p95"),
                    (slow.e2e.p95, fast.e2e.p95, "e2e p95"),
                    (slow.e2e.p99, fast.e2e.p99, "e2e p99"),
                ] {
                    assert!(
                        b <= a + 1e-9,
                        "{} {what} at {rate}: {b} faster vs {a}",
                        e.name()
                    );
                }
            }
        }
    }
}

fn qwen3_8b_q4() -> (
    headroom_core::ModelSpec,
    Vec<headroom_core::quant::StoredTensor>,
) {
    let cat = headroom_data::catalog().expect("catalog");
    let m = cat.model("qwen3-8b").expect("qwen3-8b").spec.clone();
    let w = stored_tensors(
        &m,
        &Quant::Gguf {
            mix: GgufMix::Q4_K_M,
        },
    );
    (m, w)
}

fn burst(prompt: u32, output: u32, n: u32) -> Workload {
    poisson(1000.0, Lengths::Fixed(prompt), Lengths::Fixed(output), n, 6)
}

#[test]
fn llama_server_concurrency_stops_at_the_slots_and_the_cells() {
    let (m, _) = qwen3_8b_q4();
    let settings = LlamaCppSettings {
        n_ctx: 8192,
        n_parallel: 4,
        ..LlamaCppSettings::default()
    };
    let split = LlamaServerConfig::from_settings(&m, &settings);
    // llama-context.cpp: n_ctx_seq = GGML_PAD(8192 / 4, 256) = 2048 cells per slot.
    assert_eq!(split.ctx_per_slot(), 2048);
    assert_eq!(split.total_cells(), 8192);
    let e = EngineConfig::LlamaServer(split.clone());
    let r = run(&burst(1000, 500, 200), &e, &Batched);
    assert_eq!(r.peak_running, 4);
    assert_eq!(r.rejected, 0);
    // 1900 + 500 > 2048: generation stops at the slot's context, 148 tokens in
    let r = run(&burst(1900, 500, 200), &e, &Batched);
    assert_eq!(r.truncated, 200);
    assert_eq!(r.completed, 200);
    // a 2048-token prompt does not fit a 2048-cell slot
    let r = run(&burst(2048, 10, 200), &e, &Batched);
    assert_eq!(r.rejected, 200);

    // Unified cache, 16 slots: each request holds 1000 + 500 cells, so floor(8192 / 1500) = 5 run.
    let unified = LlamaServerConfig {
        n_parallel: 16,
        kv_unified: true,
        ..split
    };
    let r = run(
        &burst(1000, 500, 200),
        &EngineConfig::LlamaServer(unified),
        &Batched,
    );
    assert_eq!(r.peak_running, 5);
    assert!(r.peak_kv_tokens <= 8192);
    // the cells are the memory model's padded context, the one fit sizes the cache for
    assert_eq!(
        u64::from(kv_cache::pad_ctx(
            settings.n_ctx,
            kv_cache::LLAMA_CPP_CTX_PAD
        )),
        r.kv_capacity_tokens
    );
}

#[test]
fn vllm_kv_use_stops_at_the_pool_the_memory_model_plans() {
    let (m, _) = qwen3_8b_q4();
    let cat = headroom_data::catalog().unwrap();
    let gpu = cat.hardware("rtx-4090").unwrap();
    let w16 = stored_tensors(&m, &Quant::Float16);
    let s = VllmSettings {
        max_model_len: 8192,
        ..VllmSettings::default()
    };
    let plan = vllm::plan(&m, w16.iter().map(|t| t.bytes).sum(), &gpu, &s);
    let cfg = VllmConfig::from_plan(&s, &plan);
    assert_eq!(cfg.kv_tokens, plan.kv_tokens);
    assert!(plan.kv_tokens > 8192, "{}", plan.kv_tokens);
    // Requests of 2000 + 1000 tokens arriving at once overfill the pool as they grow.
    let w = burst(2000, 1000, 300);
    let r = run(&w, &EngineConfig::Vllm(cfg.clone()), &Batched);
    assert_eq!(r.kv_capacity_tokens, plan.kv_tokens);
    assert!(r.peak_kv_tokens <= plan.kv_tokens);
    // it fills the pool: less than one block short at the peak
    assert!(
        r.peak_kv_tokens + u64::from(cfg.block_size) > plan.kv_tokens,
        "{} of {}",
        r.peak_kv_tokens,
        plan.kv_tokens
    );
    assert!(r.preemptions > 0);
    assert_eq!(r.completed, 300);
    // with KV to spare, max_num_seqs is the bound
    let roomy = VllmConfig {
        kv_tokens: 1 << 24,
        max_num_seqs: 32,
        ..cfg
    };
    let r = run(&w, &EngineConfig::Vllm(roomy), &Batched);
    assert_eq!(r.peak_running, 32);
    assert_eq!(r.preemptions, 0);
}

#[test]
fn ollama_refuses_beyond_its_queue() {
    // OLLAMA_NUM_PARALLEL 1, OLLAMA_MAX_QUEUE 4: 10 simultaneous requests, one runs, four wait.
    let e = EngineConfig::Ollama(OllamaConfig {
        max_queue: 4,
        ..OllamaConfig::default()
    });
    let w = poisson(1e6, Lengths::Fixed(10), Lengths::Fixed(10), 10, 8);
    let r = run(&w, &e, &Batched);
    assert_eq!(r.rejected, 5);
    assert_eq!(r.completed, 5);
    // under overload the refusals, not the served requests' latency, grow with load
    let steady = |rate| {
        let w = poisson(rate, Lengths::Fixed(200), Lengths::Fixed(50), 2000, 12);
        run(&w, &e, &Batched).rejected
    };
    assert!(steady(2.0) < steady(4.0) && steady(4.0) < steady(8.0));
}

#[test]
fn a_lone_request_costs_its_prefill_and_decodes() {
    // ttft = prefill(500) = 0.02 + 0.05 s; e2e adds 99 decode passes at batch 1 of 0.021 s.
    for e in engines() {
        let w = poisson(1.0, Lengths::Fixed(500), Lengths::Fixed(100), 1, 9);
        let r = run(&w, &e, &Batched);
        assert!(
            (r.ttft.p50 - 0.07).abs() < 1e-9,
            "{} {}",
            e.name(),
            r.ttft.p50
        );
        assert!(
            (r.e2e.p50 - (0.07 + 99.0 * 0.021)).abs() < 1e-9,
            "{} {}",
            e.name(),
            r.e2e.p50
        );
        assert!((r.tpot.p50 - 0.021).abs() < 1e-9, "{}", e.name());
    }
}

#[test]
fn a_seed_gives_the_same_run() {
    let w = poisson(
        2.0,
        Lengths::Uniform { lo: 1, hi: 900 },
        Lengths::Exponential { mean: 80.0 },
        500,
        10,
    );
    for e in engines() {
        assert_eq!(run(&w, &e, &Batched), run(&w, &e, &Batched));
    }
}

#[test]
fn slo_search_and_fleet_sizing_on_the_roofline() {
    // Qwen3-8B Q4_K_M on an RTX 4090 through llama-server -np 4, roofline step times.
    let m = qwen3_8b_q4().0;
    let req = headroom_data::ScenarioRequest {
        model: "qwen3-8b".into(),
        quant: Some("Q4_K_M".into()),
        hardware: vec!["rtx-4090".into()],
        runtime: Some("llama.cpp".into()),
        ..headroom_data::ScenarioRequest::default()
    };
    let steps = Roofline::new(&headroom_data::build(&req, None).expect("scenario")).unwrap();
    let e = EngineConfig::LlamaServer(LlamaServerConfig::from_settings(
        &m,
        &LlamaCppSettings {
            n_ctx: 16384,
            n_parallel: 4,
            ..LlamaCppSettings::default()
        },
    ));
    let wl = poisson(1.0, Lengths::Fixed(1000), Lengths::Fixed(200), 2000, 11);
    let slo = Slo {
        p95_ttft: 2.0,
        p95_tpot: 0.1,
    };
    let s = max_rate(&wl, &e, &steps, &slo, 0.01).unwrap();
    assert!(s.max_rate > 0.0);
    let at = s.report.as_ref().unwrap();
    assert!(slo.met_by(at, s.max_rate));
    // 5% above the answer the target is missed
    let over = run(&wl.at_rate(s.max_rate * 1.05), &e, &steps);
    assert!(!slo.met_by(&over, s.max_rate * 1.05), "{:?}", over.ttft);
    // a fleet for 10x that rate needs about 10 replicas, each within the target
    let f = replicas_needed(&wl, &e, &steps, &slo, 10.0 * s.max_rate).unwrap();
    assert!((10..=11).contains(&f.replicas), "{}", f.replicas);
    assert!(slo.met_by(&f.report, f.per_replica_rate));
}

#[test]
fn engine_for_a_scenario_holds_the_kv_fit_reports() {
    use headroom_core::simulate::{engine_for, roofline_for, Server};
    use headroom_data::ScenarioRequest;
    let req = ScenarioRequest {
        model: "qwen3-8b".into(),
        quant: Some("bf16".into()),
        hardware: vec!["h100-sxm".into()],
        runtime: Some("vllm".into()),
        ctx: Some(32768),
        ..ScenarioRequest::default()
    };
    let s = headroom_data::build(&req, None).expect("scenario");
    let fit = headroom_core::fit(&s);
    let e = engine_for(&s, Server::Native, 512).expect("engine");
    assert_eq!(
        e.kv_capacity_tokens(),
        fit.kv_capacity.as_ref().expect("vllm pool").kv_tokens
    );
    // llama.cpp: the simulator's cells are fit's context
    let req = ScenarioRequest {
        quant: Some("Q4_K_M".into()),
        hardware: vec!["rtx-4090".into()],
        runtime: Some("llama.cpp".into()),
        ctx: Some(16384),
        parallel: Some(4),
        ..req
    };
    let s = headroom_data::build(&req, None).expect("scenario");
    let fit = headroom_core::fit(&s);
    let e = engine_for(&s, Server::Native, 512).expect("engine");
    assert_eq!(e.kv_capacity_tokens(), u64::from(fit.n_ctx));
    let o = engine_for(&s, Server::Ollama, 512).expect("ollama");
    assert_eq!(o.kv_capacity_tokens(), u64::from(fit.n_ctx));
    assert!(roofline_for(&s).is_ok());
}
