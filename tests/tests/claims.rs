//! Public claims in `tests/fixtures/claims/`, each with its source, quote and a hand derivation:
//! `check` must give the verdict, the bound range and the top explanation the derivation gives.
#![allow(clippy::unwrap_used, clippy::panic)]

use headroom_core::check::{check, CheckOptions, Claim, ClaimVerdict, Os};
use headroom_core::speed::SpeedQuery;
use headroom_data::{build, speed_params_for, ScenarioRequest};
use serde::Deserialize;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Case {
    source: String,
    quote: String,
    setting: String,
    request: ScenarioRequest,
    #[serde(default)]
    from_ctx: Option<u32>,
    claim: Claim,
    verdict: ClaimVerdict,
    bound: Option<(f64, f64)>,
    top_cause: Option<String>,
    derivation: String,
}

#[test]
fn every_public_claim_gets_its_derived_verdict() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/claims");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let c: Case = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(c.source.starts_with("https://") && !c.quote.is_empty());
        let s = build(&c.request, None).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let params = speed_params_for(s.runtime.name()).unwrap();
        let o = CheckOptions {
            query: SpeedQuery::default(),
            os: c.request.os.as_deref().and_then(Os::parse),
            from_ctx: c.from_ctx,
        };
        let r = check(&s, &[c.claim], params, &o);
        let got = &r.claims[0];
        let name = p.display();
        assert_eq!(got.verdict, c.verdict, "{name}: {got:#?}");
        if let Some((lo, hi)) = c.bound {
            let b = got.bound.unwrap();
            assert!(b >= lo - 1e-6 && b <= hi + 1e-6, "{name}: bound {b}");
        }
        match &c.top_cause {
            Some(t) => assert_eq!(
                got.explanations.first().map(|e| e.cause.as_str()),
                Some(t.as_str()),
                "{name}: {:#?}",
                got.explanations
            ),
            None => assert!(got.explanations.is_empty(), "{name}"),
        }
        n += 1;
    }
    assert!(n >= 7);
}
