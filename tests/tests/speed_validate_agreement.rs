//! `validate`'s speed path — the speed model queried as `headroom validate` queries it, summarised
//! by `measure::validate::summarize` — on the speed report's rows and scenarios gives the fitted
//! errors docs/speed-accuracy.md reports.

#![allow(clippy::unwrap_used, clippy::panic)]

use headroom_core::measure::validate::{summarize, Observation, Quantity};
use headroom_core::speed::least_squares::Phase;
use headroom_core::speed::{SpeedModel, SpeedQuery};
use headroom_data::{catalog, speed_params_for};
use headroom_tests::speed_fixture::measured;

/// The "MdAPE fitted" cell and row count of a summary row (`| decode (tg) | 177 | 4.9% | ...`).
fn doc_cell(doc: &str, row: &str) -> (usize, f64) {
    let line = doc
        .lines()
        .find(|l| l.starts_with(&format!("| {row} |")))
        .unwrap_or_else(|| panic!("no `{row}` row in docs/speed-accuracy.md"));
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    (
        cells[2].parse().unwrap(),
        cells[3].trim_end_matches('%').parse().unwrap(),
    )
}

#[test]
fn validate_reproduces_the_fitted_errors_on_the_report_rows() {
    let doc = include_str!("../../docs/speed-accuracy.md");
    let cat = catalog().unwrap();
    // the tables are of May 2024 builds: their era's fit
    let p = speed_params_for("llama.cpp@2024").unwrap();
    let obs: Vec<Observation> = measured(cat)
        .iter()
        .filter_map(|m| {
            let model = SpeedModel::new(&m.scenario, p);
            let (quantity, predicted) = match m.test.phase {
                Phase::Prefill => (
                    Quantity::Prefill,
                    model
                        .query(&SpeedQuery {
                            prompt_tokens: m.test.tokens,
                            gen_tokens: 1,
                            depth: m.test.depth,
                            batch: 1,
                        })
                        .prefill_tok_s?,
                ),
                Phase::Decode => (
                    Quantity::Decode,
                    model
                        .query(&SpeedQuery {
                            prompt_tokens: 0,
                            gen_tokens: m.test.tokens,
                            depth: m.test.depth,
                            batch: 1,
                        })
                        .decode_tok_s,
                ),
            };
            Some(Observation {
                label: m.obs.label.clone(),
                quantity,
                predicted,
                measured: m.obs.measured_tok_s(),
            })
        })
        .collect();
    let rep = summarize(obs, vec![], 0);
    for (q, row) in [
        (Quantity::Decode, "decode (tg)"),
        (Quantity::Prefill, "prefill (pp)"),
    ] {
        let e = rep.quantity(q).unwrap();
        let (n, mdape) = doc_cell(doc, row);
        assert_eq!(e.n, n, "{row}");
        // the document rounds to one decimal
        assert!(
            (e.median_abs_pct - mdape).abs() <= 0.05 + 1e-9,
            "{row}: {} vs {mdape}",
            e.median_abs_pct
        );
    }
}
