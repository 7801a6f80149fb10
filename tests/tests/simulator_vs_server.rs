//! The simulator against the measured llama-server runs (docs/simulator-validation.md): the
//! committed table is what a fresh comparison gives, each "within 15%" the doc claims holds for
//! the fresh errors, and the client turnaround the comparison assumes does not move its answer.
#![allow(clippy::unwrap_used, clippy::panic)]

use headroom_tests::simulator_validation::{
    batch_scaling, build, committed, render, render_batch, simulate_group, steps_for, TOLERANCE_PCT,
};

const DOC: &str = include_str!("../../docs/simulator-validation.md");

#[test]
fn the_committed_table_is_a_fresh_run() {
    let fresh = render(&build().unwrap()) + "\n" + &render_batch(&batch_scaling().unwrap());
    assert!(
        committed(DOC) == Some(fresh.as_str()),
        "docs/simulator-validation.md is stale: run \
         `cargo run -p headroom-tests --example simulator_vs_server`\n{fresh}"
    );
}

#[test]
fn each_within_15_percent_the_doc_claims_holds() {
    let rows = build().unwrap();
    let table = committed(DOC).unwrap();
    let claims: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| `") && (l.ends_with("| yes |") || l.ends_with("| no |")))
        .map(|l| l.trim_end_matches('|').rsplit('|').next().unwrap().trim())
        .collect();
    assert_eq!(claims.len(), rows.len());
    let mut n_yes = 0;
    for (claim, r) in claims.iter().zip(&rows) {
        let e = r.errors_pct();
        let worst = e.iter().fold(0.0_f64, |a, x| a.max(x.abs()));
        match *claim {
            "yes" => {
                n_yes += 1;
                assert!(
                    worst <= TOLERANCE_PCT,
                    "{} {} clients: {e:?}",
                    r.model,
                    r.clients
                );
            }
            "no" => assert!(
                worst > TOLERANCE_PCT,
                "{} {} clients: {e:?}",
                r.model,
                r.clients
            ),
            other => panic!("unknown claim `{other}`"),
        }
    }
    let summary = format!("{n_yes} of {} rows have all three within 15%", rows.len());
    assert!(DOC.contains(&summary), "the doc does not say `{summary}`");
}

#[test]
fn any_turnaround_shorter_than_a_pass_gives_the_same_latencies() {
    // 1 us and 10 ms both arrive after the next pass has started (a decode pass of qwen3-0.6b on
    // this CPU takes over 20 ms: batched-bench's B = 1 row), so the schedule is the same and the
    // percentiles differ by the turnaround at most.
    let steps = steps_for("qwen3-0.6b", "Q4_0").unwrap();
    for clients in [1, 2, 4, 8] {
        let prompts = vec![125; 24];
        let a = simulate_group(&steps, 4, clients, prompts.clone(), 32, 1e-6).unwrap();
        let b = simulate_group(&steps, 4, clients, prompts, 32, 0.01).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() <= 0.01 + 1e-9,
                "{clients} clients: {a:?} vs {b:?}"
            );
        }
    }
}
