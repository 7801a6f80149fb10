//! Published quality measurements of quantizations (data/quality/*.json), parsed and checked.

use crate::DataError;
use headroom_core::quant::{GgufMix, QualityTable};
use std::sync::OnceLock;

/// Parses one quality table, checking its id, that every row names a known llama.cpp file mix
/// and a URL it was published at, and that every number is finite and non-negative.
pub fn parse_quality(stem: &str, text: &str) -> Result<QualityTable, DataError> {
    let err = |problem: String| DataError {
        file: format!("quality/{stem}.json"),
        problem,
    };
    let t: QualityTable = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    if t.id != stem {
        return Err(err(format!("id `{}` does not match the file name", t.id)));
    }
    if !t.source.starts_with("https://") {
        return Err(err(format!("source `{}` is not a URL", t.source)));
    }
    if t.rows.is_empty() {
        return Err(err("no rows".into()));
    }
    for (i, r) in t.rows.iter().enumerate() {
        if GgufMix::from_name(&r.quant.to_ascii_lowercase()).is_none() {
            return Err(err(format!(
                "row {i}: `{}` is not a llama.cpp file mix",
                r.quant
            )));
        }
        if !r.source.starts_with("https://") {
            return Err(err(format!(
                "row {i} ({}): source `{}` is not a URL",
                r.quant, r.source
            )));
        }
        let numbers = [
            ("size_gib", r.size_gib),
            ("ppl", r.ppl),
            ("ppl_err", r.ppl_err),
            ("delta_ppl", r.delta_ppl),
            ("delta_ppl_err", r.delta_ppl_err),
            ("kld", r.kld),
            ("kld_err", r.kld_err),
        ];
        if let Some((name, v)) = numbers.iter().find(|(_, v)| !v.is_finite() || *v < 0.0) {
            return Err(err(format!("row {i} ({}): `{name}` is {v}", r.quant)));
        }
        if r.delta_ppl >= r.ppl {
            return Err(err(format!(
                "row {i} ({}): delta_ppl {} is not below ppl {}",
                r.quant, r.delta_ppl, r.ppl
            )));
        }
    }
    Ok(t)
}

/// The quality table the planner uses: the embedded `llama-3-8b-kld` scoreboard, parsed once.
pub fn quality_table() -> Result<&'static QualityTable, DataError> {
    static TABLE: OnceLock<Result<QualityTable, DataError>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let stem = "llama-3-8b-kld";
            let (_, text) = crate::embedded::QUALITY
                .iter()
                .find(|(s, _)| *s == stem)
                .ok_or_else(|| DataError {
                    file: format!("quality/{stem}.json"),
                    problem: "missing".into(),
                })?;
            parse_quality(stem, text)
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_table_parses() {
        for (stem, text) in crate::embedded::QUALITY {
            parse_quality(stem, text).unwrap();
        }
        // the scoreboard's IQ1_S row (10M-token imatrix): mean KLD 2.254554
        let t = quality_table().unwrap();
        let s = t.signal("IQ1_S", "Llama 3 8B").unwrap();
        assert_eq!(s.kld, 2.254554);
    }

    #[test]
    fn rejects_a_row_without_a_source_or_with_an_unknown_mix() {
        let ok = r#"{"id":"t","measured_on":"m","reference":"r","corpus":"c","revision":"v",
            "source":"https://x","rows":[{"quant":"Q4_K_M","imatrix":null,"size_gib":4.58,
            "ppl":6.4,"ppl_err":0.04,"delta_ppl":0.17,"delta_ppl_err":0.005,"kld":0.031,
            "kld_err":0.0002,"source":"SOURCE"}]}"#;
        let e = parse_quality("t", &ok.replace("SOURCE", "from memory")).unwrap_err();
        assert!(e.problem.contains("row 0 (Q4_K_M): source"), "{e}");
        let e = parse_quality(
            "t",
            &ok.replace("SOURCE", "https://x").replace("Q4_K_M", "Q9_Z"),
        )
        .unwrap_err();
        assert!(e.problem.contains("not a llama.cpp file mix"), "{e}");
        assert!(parse_quality("t", &ok.replace("SOURCE", "https://x")).is_ok());
    }
}
