//! llama-batched-bench's table: one row per (prompt length, generated tokens, parallel sequences).
//!
//! The format is the one `tools/batched-bench/batched-bench.cpp` of the llama.cpp vendored in
//! llama-cpp-python 0.3.36 prints:
//!
//! ```text
//! llama_batched_bench: n_kv_max = 8192, n_batch = 2048, n_ubatch = 512, flash_attn = 1, ...
//! |    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |
//! |-------|--------|------|--------|----------|----------|----------|----------|----------|----------|
//! |   128 |     32 |    1 |    160 |    0.527 |   243.04 |    1.084 |    29.52 |    1.611 |    99.33 |
//! ```
//!
//! `B` sequences each get a prompt of `PP` tokens, decoded as one batch (split into `n_batch`
//! calls and `n_ubatch` micro-batches), then `TG` passes each generate one token for every
//! sequence. `S_PP` and `S_TG` are summed over the sequences (`B x PP / T_PP`, `B x TG / T_TG`;
//! with `is_pp_shared` the prompt is decoded once: `PP / T_PP`). Each row becomes one record with
//! `settings.n_seq = B`, a prefill and a decode reading at those summed rates, and the two times
//! as `durations`. The model's name and type come from the loader lines llama.cpp prints before
//! the table (`general.name`, `file type`).

use super::text::{after, quant_from_ftype};
use crate::error::FormatError;
use headroom_core::measure::{MeasurementRecord, SourceKind, SpeedKind, SpeedReading};

/// The columns, in order, as batched-bench.cpp prints them.
const COLUMNS: [&str; 10] = [
    "PP", "TG", "B", "N_KV", "T_PP s", "S_PP t/s", "T_TG s", "S_TG t/s", "T s", "S t/s",
];

/// The largest prompt, generation, sequence count and KV size a row may name: a context of
/// 2^24 tokens is beyond any model's; 65,536 parallel sequences beyond llama.cpp's `n_seq_max`.
const MAX_TOKENS: u64 = 1 << 24;
const MAX_SEQS: u64 = 1 << 16;
/// The longest time a row may report, seconds (a week).
const MAX_SECONDS: f64 = 7.0 * 86_400.0;

/// True when `line` is batched-bench's table header.
pub fn is_header(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('|') && t.contains("S_PP t/s") && t.contains("S_TG t/s")
}

fn err(line: u64, problem: impl Into<String>) -> FormatError {
    FormatError::AtLine {
        what: "llama-batched-bench table".to_string(),
        line,
        problem: problem.into(),
    }
}

fn cells(line: &str) -> Vec<&str> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(str::trim).collect()
}

/// The `llama_batched_bench: n_kv_max = 8192, n_batch = 2048, ...` line's settings (older
/// builds print `main:` before it).
#[derive(Clone, Debug, Default, PartialEq)]
struct Settings {
    n_kv_max: Option<u32>,
    n_batch: Option<u32>,
    n_ubatch: Option<u32>,
    flash_attn: Option<bool>,
    pp_shared: bool,
    n_gpu_layers: Option<i32>,
    n_threads: Option<u32>,
}

impl Settings {
    fn parse(line: &str) -> Settings {
        let mut s = Settings::default();
        // `main: n_kv_max = ...` or `llama_batched_bench: n_kv_max = ...`: the function's name
        let rest = line.split_once(':').map_or(line, |(_, r)| r);
        for part in rest.split(',') {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            let v = v.trim();
            let u = v.parse::<u32>().ok();
            match k.trim() {
                "n_kv_max" => s.n_kv_max = u,
                "n_batch" => s.n_batch = u,
                "n_ubatch" => s.n_ubatch = u,
                // llama_flash_attn_type: -1 auto, 0 disabled, 1 enabled
                "flash_attn" => {
                    s.flash_attn = match v {
                        "1" => Some(true),
                        "0" => Some(false),
                        _ => None,
                    }
                }
                "is_pp_shared" => s.pp_shared = v == "1",
                "n_gpu_layers" => {
                    s.n_gpu_layers = v.parse::<i32>().ok().filter(|n| n.abs() < 1 << 20)
                }
                "n_threads" => s.n_threads = u,
                _ => {}
            }
        }
        s
    }
}

/// One row of the table, checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    pub pp: u32,
    pub tg: u32,
    pub b: u32,
    pub n_kv: u32,
    pub t_pp: f64,
    pub s_pp: f64,
    pub t_tg: f64,
    pub s_tg: f64,
}

fn parse_row(c: &[&str], n: u64) -> Result<Row, FormatError> {
    if c.len() != COLUMNS.len() {
        return Err(err(
            n,
            format!(
                "{} cells where the header has {} (a cut or garbled row)",
                c.len(),
                COLUMNS.len()
            ),
        ));
    }
    let int = |i: usize, max: u64| -> Result<u32, FormatError> {
        let v = c[i].parse::<u64>().map_err(|_| {
            err(
                n,
                format!("column `{}`: `{}` is not a whole number", COLUMNS[i], c[i]),
            )
        })?;
        if v > max {
            return Err(err(
                n,
                format!("column `{}`: {v} is over the limit of {max}", COLUMNS[i]),
            ));
        }
        Ok(v as u32)
    };
    let real = |i: usize| -> Result<f64, FormatError> {
        let v = c[i].parse::<f64>().map_err(|_| {
            err(
                n,
                format!("column `{}`: `{}` is not a number", COLUMNS[i], c[i]),
            )
        })?;
        if !v.is_finite() || !(0.0..=MAX_SECONDS.max(1e12)).contains(&v) {
            return Err(err(
                n,
                format!(
                    "column `{}`: {v} is not a finite non-negative value",
                    COLUMNS[i]
                ),
            ));
        }
        Ok(v)
    };
    let row = Row {
        pp: int(0, MAX_TOKENS)?,
        tg: int(1, MAX_TOKENS)?,
        b: int(2, MAX_SEQS)?,
        n_kv: int(3, MAX_TOKENS)?,
        t_pp: real(4)?,
        s_pp: real(5)?,
        t_tg: real(6)?,
        s_tg: real(7)?,
    };
    // the total columns are read for their shape only: they are the sums of the two parts
    real(8)?;
    real(9)?;
    if row.b == 0 {
        return Err(err(n, "column `B`: zero sequences"));
    }
    if row.t_pp > MAX_SECONDS || row.t_tg > MAX_SECONDS {
        return Err(err(n, format!("a time over {MAX_SECONDS} s")));
    }
    Ok(row)
}

/// The reader's state: the settings and model seen so far, and where the table is.
#[derive(Debug, Default)]
pub struct State {
    settings: Settings,
    model: Option<String>,
    quant: Option<String>,
    /// Line of the current table's header.
    header: Option<u64>,
    separator_seen: bool,
    rows: u64,
}

impl State {
    fn record(&self, row: &Row, n: u64) -> MeasurementRecord {
        let s = &self.settings;
        let mut r = MeasurementRecord::new(SourceKind::LlamaBatchedBench);
        r.source.line = Some(n);
        r.runtime = Some("llama.cpp".into());
        r.model = self.model.clone();
        r.quant = self.quant.clone();
        r.settings.n_ctx = s.n_kv_max;
        r.settings.n_batch = s.n_batch;
        r.settings.n_ubatch = s.n_ubatch;
        r.settings.n_seq = Some(row.b);
        r.settings.flash_attn = s.flash_attn;
        r.settings.n_gpu_layers = s.n_gpu_layers;
        r.settings.n_threads = s.n_threads;
        if row.pp > 0 && row.t_pp > 0.0 {
            r.speed.push(SpeedReading {
                kind: SpeedKind::Prefill,
                n_prompt: row.pp,
                n_gen: 0,
                depth: 0,
                tokens_per_sec: row.s_pp,
                stddev: None,
            });
            r.durations.push(("prompt_eval".into(), row.t_pp));
        }
        if row.tg > 0 && row.t_tg > 0.0 {
            r.speed.push(SpeedReading {
                kind: SpeedKind::Decode,
                n_prompt: 0,
                n_gen: row.tg,
                depth: row.pp,
                tokens_per_sec: row.s_tg,
                stddev: None,
            });
            r.durations.push(("eval".into(), row.t_tg));
        }
        let shared = if s.pp_shared {
            "one shared prompt decoded once"
        } else {
            "a prompt for each"
        };
        r.add_note(format!(
            "llama-batched-bench: {} sequences in parallel ({shared}), N_KV {}; prefill and \
             decode tokens/s are summed over the sequences",
            row.b, row.n_kv
        ));
        r
    }

    pub(super) fn line(
        &mut self,
        line: &str,
        n: u64,
        out: &mut Vec<MeasurementRecord>,
    ) -> Result<(), FormatError> {
        let t = line.trim();
        if t.contains("n_kv_max =") {
            self.settings = Settings::parse(t);
            return Ok(());
        }
        if line.contains("general.name") {
            if let Some(v) = after(line, "=") {
                self.model = Some(v.trim().chars().take(200).collect());
            }
            return Ok(());
        }
        if line.contains("file type") {
            if let Some(q) = after(line, "=").and_then(quant_from_ftype) {
                self.quant = Some(q);
            }
            return Ok(());
        }
        if !t.starts_with('|') {
            return Ok(());
        }
        let c = cells(t);
        if is_header(t) {
            if c != COLUMNS {
                return Err(err(
                    n,
                    format!(
                        "columns `{}` are not batched-bench's `{}`",
                        c.join(" | "),
                        COLUMNS.join(" | ")
                    ),
                ));
            }
            self.header = Some(n);
            self.separator_seen = false;
            return Ok(());
        }
        if self.header.is_none() {
            return Err(err(n, "a table row before the table's header"));
        }
        if !self.separator_seen && c.iter().all(|x| x.chars().all(|ch| ch == '-' || ch == ':')) {
            self.separator_seen = true;
            return Ok(());
        }
        if !self.separator_seen {
            return Err(err(n, "a table row before the header's separator line"));
        }
        let row = parse_row(&c, n)?;
        out.push(self.record(&row, n));
        self.rows += 1;
        Ok(())
    }

    pub(super) fn finish(&mut self) -> Result<(), FormatError> {
        match self.header {
            None => Err(FormatError::AtLine {
                what: "llama-batched-bench output".into(),
                line: 0,
                problem: "no table header (`| PP | TG | B | N_KV | ...`) in the input".into(),
            }),
            Some(h) if self.rows == 0 => Err(FormatError::AtLine {
                what: "llama-batched-bench table".into(),
                line: h,
                problem: "the input ends before the table's first row".into(),
            }),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_line() {
        let s = Settings::parse(
            "main: n_kv_max = 4096, n_batch = 2048, n_ubatch = 512, flash_attn = 1, \
             is_pp_shared = 0, is_tg_separate = 0, n_gpu_layers = -1, n_threads = 2, \
             n_threads_batch = 2",
        );
        assert_eq!(
            s,
            Settings {
                n_kv_max: Some(4096),
                n_batch: Some(2048),
                n_ubatch: Some(512),
                flash_attn: Some(true),
                pp_shared: false,
                n_gpu_layers: Some(-1),
                n_threads: Some(2),
            }
        );
    }

    #[test]
    fn rows_are_bounded() {
        let ok = cells("|   128 |     32 |    1 |    160 |    0.527 |   243.04 |    1.084 |    29.52 |    1.611 |    99.33 |");
        let r = parse_row(&ok, 3).unwrap();
        assert_eq!((r.pp, r.tg, r.b, r.n_kv), (128, 32, 1, 160));
        let huge = cells("| 99999999999 | 32 | 1 | 160 | 0.5 | 243 | 1.0 | 29 | 1.6 | 99 |");
        let e = parse_row(&huge, 7).unwrap_err().to_string();
        assert!(e.contains("line 7") && e.contains("`PP`"), "{e}");
        let nan = cells("| 128 | 32 | 1 | 160 | nan | 243 | 1.0 | 29 | 1.6 | 99 |");
        let e = parse_row(&nan, 8).unwrap_err().to_string();
        assert!(e.contains("line 8") && e.contains("T_PP s"), "{e}");
    }
}
