//! The closed-loop simulator (N users, each sending its next request when its last one ended,
//! after a think time) against the operational laws of closed queueing networks, derived by hand
//! for a serial server and fixed service times.

use headroom_core::simulate::{
    max_users, simulate, Arrivals, ConstantSteps, EngineConfig, Lengths, LlamaServerConfig, Report,
    Slo, Workload,
};

fn closed(users: u32, think_time: f64, output: u32, requests: u32) -> Workload {
    Workload {
        arrivals: Arrivals::Closed { users, think_time },
        prompt: Lengths::Fixed(10),
        output: Lengths::Fixed(output),
        requests,
        seed: 7,
    }
}

/// 101 output tokens at 10 ms a decode pass and free prefill: a request's service is S = 1 s.
const DECODE_ONLY: ConstantSteps = ConstantSteps {
    prefill_per_token: 0.0,
    decode_step: 0.01,
};

fn run(w: &Workload, e: &EngineConfig, s: &ConstantSteps) -> Report {
    simulate(w, e, s).expect("valid inputs")
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

#[test]
fn zero_think_time_serial_server_obeys_the_response_time_law() {
    // N = 4 users, Z = 0, S = 1 s, M = 1000 requests. All four send at t = 0 and wait 1, 2, 3, 4 s
    // (first come, first served). From then on a user sends again the moment its answer ends and
    // finds the other three queued or in service: every later request takes R = N S = 4 s. The
    // server never idles, so the run lasts M S = 1000 s and X = 1/S = 1 req/s, the bound 1/S.
    // The mean response time is (1 + 2 + 3 + 4 + 996 x 4) / 1000 = 3.994 s; the response-time law
    // R = N/X - Z gives 4 s, which the requests after the first round meet exactly.
    let (n, m) = (4u32, 1000u32);
    let r = run(&closed(n, 0.0, 101, m), &EngineConfig::Serial, &DECODE_ONLY);
    assert_eq!(r.completed, u64::from(m));
    close(r.duration, 1000.0, 1e-6, "duration");
    close(r.throughput_rps, 1.0, 1e-9, "throughput");
    close(
        r.e2e.mean,
        (1.0 + 2.0 + 3.0 + 4.0 + 996.0 * 4.0) / 1000.0,
        1e-9,
        "mean R",
    );
    close(
        r.e2e.p50,
        f64::from(n) / r.throughput_rps - 0.0,
        1e-9,
        "R = N/X - Z",
    );
    close(r.e2e.p99, 4.0, 1e-9, "p99 R");
    // Never more than N requests in the system.
    assert!(r.peak_queued <= n && r.peak_running <= 1, "{r:?}");
    // Little's law on the whole loop: N = X (R + Z) over the run, up to the first round's ramp.
    close(
        r.mean_in_system,
        r.throughput_rps * r.e2e.mean,
        1e-6,
        "Little",
    );
}

#[test]
fn think_time_spreads_users_and_throughput_is_n_over_r_plus_z() {
    // N = 2, Z = 3 s, S = 1 s, M = 2k requests with k = 5000. At t = 0 user 1 is served 0-1 and
    // user 2 waits, served 1-2. User 1 comes back at 4, user 2 at 5: they never meet again, so
    // every later request takes R = S = 1 s. User 2's last answer ends at 2 + 4 (k - 1) = 4k - 2.
    // X = 2k / (4k - 2); mean R = (1 + 2 + (2k - 2)) / 2k = 1 + 1/(2k); N/X - Z = (4k - 2)/k - 3
    // = 1 - 2/k: the law holds up to the first round and the last.
    let k = 5000.0;
    let r = run(
        &closed(2, 3.0, 101, 10_000),
        &EngineConfig::Serial,
        &DECODE_ONLY,
    );
    close(r.duration, 4.0 * k - 2.0, 1e-6, "duration");
    close(r.throughput_rps, 2.0 * k / (4.0 * k - 2.0), 1e-12, "X");
    close(r.e2e.mean, 1.0 + 1.0 / (2.0 * k), 1e-9, "mean R");
    close(2.0 / r.throughput_rps - 3.0, 1.0 - 2.0 / k, 1e-9, "N/X - Z");
    // The asymptotic bounds of a closed system: X <= min(1/S, N/(S + Z)) = 0.5.
    assert!(r.throughput_rps <= 0.5 + 1e-3 && r.throughput_rps > 0.49);
}

#[test]
fn a_batching_server_with_a_slot_per_user_serves_them_together() {
    // llama-server with 4 slots and 4 users, Z = 0, free prefill, a decode pass of 10 ms whatever
    // the batch: the four requests decode in the same passes, so each takes S = 100 passes = 1 s
    // and four finish every second: X = N / S = 4 req/s, and R = N/X - Z = 1 s.
    let e = EngineConfig::LlamaServer(LlamaServerConfig {
        n_ctx: 4 * 512,
        n_parallel: 4,
        n_batch: 2048,
        kv_unified: false,
        max_queue: None,
    });
    let r = run(&closed(4, 0.0, 101, 400), &e, &DECODE_ONLY);
    assert_eq!(r.completed, 400);
    close(r.throughput_rps, 4.0, 1e-6, "X");
    close(r.e2e.mean, 4.0 / r.throughput_rps, 1e-6, "R = N/X");
    close(r.queue_wait.p99, 0.0, 1e-12, "no one waits for a slot");
}

#[test]
fn the_most_users_within_a_ttft_target() {
    // Serial server, Z = 0, prefill 0.1 s (10 tokens at 10 ms) and 90 decode passes of 10 ms:
    // S = 1 s. In the steady state a request waits for the N - 1 others, so its time to first
    // token is (N - 1) S + 0.1 s. A p95 target of 3.5 s allows N - 1 + 0.1 <= 3.5: N = 4 (3.1 s);
    // N = 5 gives 4.1 s.
    let steps = ConstantSteps {
        prefill_per_token: 0.01,
        decode_step: 0.01,
    };
    let w = closed(1, 0.0, 91, 2000);
    let slo = Slo {
        p95_ttft: 3.5,
        p95_tpot: f64::INFINITY,
    };
    let found = max_users(&w, &EngineConfig::Serial, &steps, &slo).unwrap();
    assert_eq!(found.max_users, 4, "{found:?}");
    let r = found.report.unwrap();
    close(r.ttft.p95, 3.1, 1e-9, "p95 TTFT at 4 users");
    // A target an idle server misses: no user count meets it.
    let tight = Slo {
        p95_ttft: 0.05,
        p95_tpot: f64::INFINITY,
    };
    let none = max_users(&w, &EngineConfig::Serial, &steps, &tight).unwrap();
    assert_eq!(none.max_users, 0);
}

#[test]
fn bad_closed_loops_are_refused_with_the_reason() {
    let e = simulate(&closed(0, 0.0, 10, 10), &EngineConfig::Serial, &DECODE_ONLY).unwrap_err();
    assert!(e.0.contains("users"), "{e}");
    let e = simulate(
        &closed(2, -1.0, 10, 10),
        &EngineConfig::Serial,
        &DECODE_ONLY,
    )
    .unwrap_err();
    assert!(e.0.contains("think time"), "{e}");
}
