//! Quality lost to quantization: published KL-divergence and perplexity measurements of llama.cpp
//! quantizations against F16, looked up by quantization name and graded.
//!
//! The grades are choices on the mean KL divergence (nats per token) from the F16 model's token
//! distribution, the measure llama.cpp's perplexity tool reports for quantized files:
//! - below 0.01: near-lossless (on Llama 3 8B: Q8_0 0.0014, Q6_K 0.0055);
//! - below 0.05: small loss (Q5_K_M 0.011, Q4_K_M 0.031, IQ4_XS 0.036);
//! - below 0.15: noticeable loss (Q4_0 0.072, Q3_K_M 0.10, IQ3_XS 0.14);
//! - below 0.5: large loss (Q3_K_S 0.23, Q2_K 0.45);
//! - from 0.5: poor (IQ2_XS 0.55, IQ1_M 1.39, IQ1_S 2.25; perplexity 1.7x to 9.7x F16's).

use serde::{Deserialize, Serialize};

/// One published measurement of a quantization against the F16 model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityRow {
    /// llama-quantize's name for the file mix (`Q4_K_M`, `IQ1_S`, `F16`).
    pub quant: String,
    /// The importance matrix used to quantize, `None` for none.
    pub imatrix: Option<String>,
    pub size_gib: f64,
    /// Perplexity of the quantized model and its uncertainty.
    pub ppl: f64,
    pub ppl_err: f64,
    /// Perplexity above the F16 model's.
    pub delta_ppl: f64,
    pub delta_ppl_err: f64,
    /// Mean KL divergence from the F16 model's token distribution (nats per token).
    pub kld: f64,
    pub kld_err: f64,
    /// Where the row was published.
    pub source: String,
}

/// A table of measurements on one model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityTable {
    pub id: String,
    /// The model the quantizations were measured on.
    pub measured_on: String,
    pub reference: String,
    pub corpus: String,
    pub revision: String,
    pub source: String,
    pub rows: Vec<QualityRow>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityGrade {
    NearLossless,
    Small,
    Noticeable,
    Large,
    Poor,
}

impl QualityGrade {
    /// The grade of a mean KL divergence (see the module's thresholds).
    pub fn of_kld(kld: f64) -> QualityGrade {
        if kld < 0.01 {
            QualityGrade::NearLossless
        } else if kld < 0.05 {
            QualityGrade::Small
        } else if kld < 0.15 {
            QualityGrade::Noticeable
        } else if kld < 0.5 {
            QualityGrade::Large
        } else {
            QualityGrade::Poor
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            QualityGrade::NearLossless => "near-lossless",
            QualityGrade::Small => "small loss",
            QualityGrade::Noticeable => "noticeable loss",
            QualityGrade::Large => "large loss",
            QualityGrade::Poor => "poor",
        }
    }
}

/// The quality signal of one quantization, as measured on the table's model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualitySignal {
    pub quant: String,
    pub grade: QualityGrade,
    /// Mean KL divergence from F16 and its uncertainty.
    pub kld: f64,
    pub kld_err: f64,
    /// Perplexity increase over F16, percent.
    pub ppl_increase_pct: f64,
    pub imatrix: Option<String>,
    /// The model the measurement was made on.
    pub measured_on: String,
    pub source: String,
    /// Said when the model asked about is not the one measured.
    pub note: Option<String>,
}

impl QualityTable {
    /// The signal for quantization `quant` (any case) on model `model_name`. Without an
    /// importance matrix when that row exists (llama-quantize's default), else the row with one.
    /// `None` when nothing was measured for that quantization.
    pub fn signal(&self, quant: &str, model_name: &str) -> Option<QualitySignal> {
        let q = quant.trim();
        let mut rows = self.rows.iter().filter(|r| r.quant.eq_ignore_ascii_case(q));
        let first = rows.next()?;
        let row = if first.imatrix.is_none() {
            first
        } else {
            rows.find(|r| r.imatrix.is_none()).unwrap_or(first)
        };
        let f16_ppl = row.ppl - row.delta_ppl;
        let note = (!same_model(model_name, &self.measured_on)).then(|| {
            format!(
                "measured on {}, not on this model: its loss may differ (larger models usually lose less)",
                self.measured_on
            )
        });
        Some(QualitySignal {
            quant: row.quant.clone(),
            grade: QualityGrade::of_kld(row.kld),
            kld: row.kld,
            kld_err: row.kld_err,
            ppl_increase_pct: if f16_ppl > 0.0 {
                100.0 * row.delta_ppl / f16_ppl
            } else {
                0.0
            },
            imatrix: row.imatrix.clone(),
            measured_on: self.measured_on.clone(),
            source: row.source.clone(),
            note,
        })
    }
}

fn same_model(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(quant: &str, imatrix: Option<&str>, ppl: f64, delta: f64, kld: f64) -> QualityRow {
        QualityRow {
            quant: quant.into(),
            imatrix: imatrix.map(str::to_string),
            size_gib: 1.0,
            ppl,
            ppl_err: 0.0,
            delta_ppl: delta,
            delta_ppl_err: 0.0,
            kld,
            kld_err: 0.0,
            source: "https://example.org/table".into(),
        }
    }

    fn table() -> QualityTable {
        QualityTable {
            id: "t".into(),
            measured_on: "Llama 3 8B".into(),
            reference: "F16".into(),
            corpus: "c".into(),
            revision: "r".into(),
            source: "https://example.org/table".into(),
            rows: vec![
                row("Q4_K_M", Some("WT 10m"), 6.38, 0.15, 0.028),
                row("Q4_K_M", None, 6.4, 0.2, 0.031),
                row("IQ1_S", Some("WT 10m"), 60.0, 54.0, 2.25),
            ],
        }
    }

    #[test]
    fn prefers_the_row_without_an_importance_matrix() {
        let s = table().signal("q4_k_m", "Llama 3 8B").unwrap();
        assert_eq!(s.imatrix, None);
        assert_eq!(s.kld, 0.031);
        // 0.2 over an F16 perplexity of 6.4 - 0.2 = 6.2: 100 * 0.2 / 6.2 = 3.2258 %
        assert!((s.ppl_increase_pct - 100.0 * 0.2 / 6.2).abs() < 1e-9);
        assert_eq!(s.grade, QualityGrade::Small);
        assert_eq!(s.note, None);
    }

    #[test]
    fn an_imatrix_only_row_is_used_and_other_models_are_flagged() {
        let s = table().signal("IQ1_S", "Llama 3.3 70B").unwrap();
        assert_eq!(s.imatrix.as_deref(), Some("WT 10m"));
        assert_eq!(s.grade, QualityGrade::Poor);
        assert!(s.note.unwrap().contains("measured on Llama 3 8B"));
        assert!(table().signal("mlx-4bit", "x").is_none());
    }

    #[test]
    fn grades_follow_the_documented_thresholds() {
        assert_eq!(QualityGrade::of_kld(0.0099), QualityGrade::NearLossless);
        assert_eq!(QualityGrade::of_kld(0.01), QualityGrade::Small);
        assert_eq!(QualityGrade::of_kld(0.05), QualityGrade::Noticeable);
        assert_eq!(QualityGrade::of_kld(0.15), QualityGrade::Large);
        assert_eq!(QualityGrade::of_kld(0.5), QualityGrade::Poor);
    }
}
