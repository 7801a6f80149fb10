//! llama-bench results: `-o json`, `-o jsonl`, `-o csv` and the default markdown table.
//!
//! JSON, JSONL and CSV carry the same fields (`model_type`, `n_prompt`, `n_gen`, `n_depth`,
//! `avg_ts`, ...); the markdown table carries a subset under short column names (`ngl`, `fa`,
//! `test` = `pp512`, `tg128`, `pp512 @ d512`, `pp512+tg128`).

use super::csv_line;
use super::text::{param_count, quant_from_model_type, size_with_unit};
use super::MAX_JSON_OBJECT_BYTES;
use crate::error::FormatError;
use headroom_core::measure::{DeviceInfo, MeasurementRecord, SourceKind, SpeedKind, SpeedReading};
use headroom_core::Bytes;

fn err(line: u64, what: &str, problem: impl Into<String>) -> FormatError {
    FormatError::AtLine {
        what: what.to_string(),
        line,
        problem: problem.into(),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "true" | "on" | "enabled" => Some(true),
        "0" | "false" | "off" | "disabled" => Some(false),
        _ => None,
    }
}

fn speed_kind(n_prompt: u32, n_gen: u32) -> Option<SpeedKind> {
    match (n_prompt > 0, n_gen > 0) {
        (true, false) => Some(SpeedKind::Prefill),
        (false, true) => Some(SpeedKind::Decode),
        (true, true) => Some(SpeedKind::PrefillDecode),
        (false, false) => None,
    }
}

/// A record from llama-bench's named fields (JSON keys or CSV columns).
fn record_from_fields(
    get: &dyn Fn(&str) -> Option<String>,
    line: u64,
) -> Result<MeasurementRecord, String> {
    let num = |k: &str| get(k).and_then(|v| v.trim().parse::<f64>().ok());
    let uint = |k: &str| {
        num(k)
            .filter(|v| *v >= 0.0 && *v <= f64::from(u32::MAX))
            .map(|v| v as u32)
    };
    let mut r = MeasurementRecord::new(SourceKind::LlamaBench);
    r.source.line = Some(line);
    r.runtime = Some("llama.cpp".into());
    r.runtime_version = match (get("build_commit"), get("build_number")) {
        (Some(c), Some(n)) => Some(format!("{c} ({n})")),
        (Some(c), None) => Some(c),
        _ => None,
    };
    r.backend = get("backends").or_else(|| get("backend"));
    if let Some(g) = get("gpu_info").filter(|g| !g.is_empty()) {
        r.devices = g
            .split(", ")
            .enumerate()
            .map(|(i, n)| DeviceInfo {
                name: n.trim().to_string(),
                index: Some(i as u32),
                ..DeviceInfo::default()
            })
            .collect();
    } else if let Some(c) = get("cpu_info").filter(|c| !c.is_empty()) {
        r.devices.push(DeviceInfo {
            name: c,
            ..DeviceInfo::default()
        });
    }
    let model_type = get("model_type");
    r.model = get("model_filename")
        .map(|f| {
            let base = f.rsplit(['/', '\\']).next().unwrap_or(&f).to_string();
            base.strip_suffix(".gguf").unwrap_or(&base).to_string()
        })
        .or_else(|| model_type.clone());
    r.quant = model_type.as_deref().and_then(quant_from_model_type);
    r.model_size = num("model_size")
        .filter(|v| *v >= 0.0 && *v < 1e15)
        .map(|v| Bytes(v as u64));
    r.n_params = num("model_n_params")
        .filter(|v| *v >= 0.0 && *v < 1e15)
        .map(|v| v as u64);
    r.settings.n_batch = uint("n_batch");
    r.settings.n_ubatch = uint("n_ubatch");
    r.settings.n_threads = uint("n_threads");
    r.settings.type_k = get("type_k");
    r.settings.type_v = get("type_v");
    r.settings.n_gpu_layers = num("n_gpu_layers")
        .filter(|v| v.abs() < 1e6)
        .map(|v| v as i32);
    // -1 is llama-bench's "auto".
    r.settings.flash_attn = get("flash_attn").and_then(|v| parse_bool(&v));
    r.settings.repack = get("repack").and_then(|v| parse_bool(&v));
    let n_prompt = uint("n_prompt").unwrap_or(0);
    let n_gen = uint("n_gen").unwrap_or(0);
    let depth = uint("n_depth").unwrap_or(0);
    let ts = num("avg_ts").ok_or("no avg_ts")?;
    let kind = speed_kind(n_prompt, n_gen).ok_or("neither n_prompt nor n_gen is set")?;
    r.speed.push(SpeedReading {
        kind,
        n_prompt,
        n_gen,
        depth,
        tokens_per_sec: ts,
        stddev: num("stddev_ts"),
    });
    Ok(r)
}

/// JSON (an array of objects, over many lines) and JSONL (one object per line). Text outside the
/// objects, such as backend banners, is skipped.
#[derive(Debug, Default)]
pub struct JsonState {
    buf: String,
    depth: u32,
    in_string: bool,
    escaped: bool,
    start_line: u64,
}

impl JsonState {
    pub(super) fn line(
        &mut self,
        line: &str,
        n: u64,
        out: &mut Vec<MeasurementRecord>,
    ) -> Result<(), FormatError> {
        if self.depth > 0 {
            self.buf.push('\n');
        }
        for (i, c) in line.char_indices() {
            if self.depth == 0 {
                if c == '{' {
                    self.depth = 1;
                    self.buf.clear();
                    self.buf.push('{');
                    self.start_line = n;
                    self.in_string = false;
                    self.escaped = false;
                }
                continue;
            }
            self.buf.push(c);
            if self.buf.len() > MAX_JSON_OBJECT_BYTES {
                return Err(FormatError::TooLarge {
                    what: format!(
                        "llama-bench JSON object starting at line {}",
                        self.start_line
                    ),
                    value: self.buf.len() as u64,
                    limit: MAX_JSON_OBJECT_BYTES as u64,
                });
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == '\\' {
                    self.escaped = true;
                } else if c == '"' {
                    self.in_string = false;
                }
                continue;
            }
            match c {
                '"' => self.in_string = true,
                '{' | '[' => self.depth += 1,
                '}' | ']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        let v: serde_json::Value =
                            serde_json::from_str(&self.buf).map_err(|e| {
                                err(self.start_line, "llama-bench JSON object", e.to_string())
                            })?;
                        let get = |k: &str| match v.get(k)? {
                            serde_json::Value::String(s) => Some(s.clone()),
                            serde_json::Value::Number(x) => Some(x.to_string()),
                            serde_json::Value::Bool(b) => Some(b.to_string()),
                            _ => None,
                        };
                        let r = record_from_fields(&get, self.start_line)
                            .map_err(|p| err(self.start_line, "llama-bench result", p))?;
                        out.push(r);
                        self.buf.clear();
                        let _ = i;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub(super) fn finish(&mut self) -> Result<(), FormatError> {
        if self.depth > 0 {
            return Err(FormatError::Truncated {
                what: format!(
                    "llama-bench JSON object starting at line {}",
                    self.start_line
                ),
                offset: self.buf.len() as u64,
            });
        }
        Ok(())
    }
}

/// CSV: one header row, then one row per result.
#[derive(Debug, Default)]
pub struct CsvState {
    header: Option<Vec<String>>,
}

impl CsvState {
    pub(super) fn line(
        &mut self,
        line: &str,
        n: u64,
        out: &mut Vec<MeasurementRecord>,
    ) -> Result<(), FormatError> {
        if line.trim().is_empty() {
            return Ok(());
        }
        let fields =
            csv_line::split(line).ok_or_else(|| err(n, "llama-bench CSV row", "unclosed quote"))?;
        let Some(header) = &self.header else {
            if !fields.iter().any(|f| f == "avg_ts") {
                // Banners before the header are skipped.
                return Ok(());
            }
            self.header = Some(fields);
            return Ok(());
        };
        if fields.len() != header.len() {
            return Err(err(
                n,
                "llama-bench CSV row",
                format!(
                    "{} fields where the header has {}",
                    fields.len(),
                    header.len()
                ),
            ));
        }
        let get = |k: &str| {
            header
                .iter()
                .position(|h| h == k)
                .map(|i| fields[i].clone())
        };
        out.push(record_from_fields(&get, n).map_err(|p| err(n, "llama-bench result", p))?);
        Ok(())
    }
}

/// The markdown table (default output).
#[derive(Debug, Default)]
pub struct MarkdownState {
    columns: Option<Vec<String>>,
    devices: Vec<DeviceInfo>,
    /// Records of the current table, held until its `build:` line names the build.
    table: Vec<MeasurementRecord>,
}

fn cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(|c| c.trim().to_string()).collect()
}

/// `pp512`, `tg128`, `pp 512`, `pp512 @ d512`, `pp512+tg128`, `pp 512 + tg 128` → (n_prompt, n_gen, depth).
pub(super) fn parse_test(t: &str) -> Option<(u32, u32, u32)> {
    let (test, depth) = match t.split_once('@') {
        Some((a, d)) => (a.trim(), d.trim().strip_prefix('d')?.trim().parse().ok()?),
        None => (t.trim(), 0),
    };
    let mut pp = 0;
    let mut tg = 0;
    for part in test.split('+') {
        let p = part.trim();
        if let Some(v) = p.strip_prefix("pp") {
            pp = v.trim().parse().ok()?;
        } else if let Some(v) = p.strip_prefix("tg") {
            tg = v.trim().parse().ok()?;
        } else {
            return None;
        }
    }
    Some((pp, tg, depth))
}

impl MarkdownState {
    fn flush(&mut self, out: &mut Vec<MeasurementRecord>) {
        out.append(&mut self.table);
    }

    pub(super) fn line(&mut self, line: &str, n: u64, out: &mut Vec<MeasurementRecord>) {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("build:") {
            let build = rest.trim().to_string();
            for r in &mut self.table {
                r.runtime_version = Some(build.clone());
            }
            self.flush(out);
            self.columns = None;
            return;
        }
        if let Some(rest) = t.strip_prefix("Device ") {
            // `Device 0: NVIDIA GeForce RTX 3090 Ti, compute capability 8.6`
            if let Some((idx, name)) = rest.split_once(':') {
                if let Ok(i) = idx.trim().parse::<u32>() {
                    let name = name.split(',').next().unwrap_or("").trim().to_string();
                    self.devices.retain(|d| d.index != Some(i));
                    self.devices
                        .truncate(headroom_core::measure::record::MAX_ENTRIES - 1);
                    self.devices.push(DeviceInfo {
                        name,
                        index: Some(i),
                        ..DeviceInfo::default()
                    });
                }
            }
            return;
        }
        if !t.starts_with('|') {
            if !t.is_empty() && self.columns.is_some() {
                self.flush(out);
                self.columns = None;
            }
            return;
        }
        let c = cells(t);
        if c.iter().any(|x| x == "t/s") && c.iter().any(|x| x == "model") {
            self.flush(out);
            self.columns = Some(c);
            return;
        }
        let Some(cols) = &self.columns else { return };
        if c.iter().all(|x| x.chars().all(|ch| ch == '-' || ch == ':')) {
            return;
        }
        if c.len() != cols.len() {
            return;
        }
        let get = |k: &str| cols.iter().position(|h| h == k).map(|i| c[i].as_str());
        let Some((n_prompt, n_gen, depth)) = get("test").and_then(parse_test) else {
            return;
        };
        let Some(kind) = speed_kind(n_prompt, n_gen) else {
            return;
        };
        let Some(ts_cell) = get("t/s") else { return };
        let mut ts_parts = ts_cell.split('±');
        let Some(ts) = ts_parts.next().and_then(|v| v.trim().parse::<f64>().ok()) else {
            return;
        };
        let stddev = ts_parts.next().and_then(|v| v.trim().parse::<f64>().ok());
        let mut r = MeasurementRecord::new(SourceKind::LlamaBench);
        r.source.line = Some(n);
        r.runtime = Some("llama.cpp".into());
        r.devices = self.devices.clone();
        r.model = get("model").map(str::to_string);
        r.quant = get("model").and_then(quant_from_model_type);
        r.model_size = get("size").or(get("model_size")).and_then(size_with_unit);
        r.n_params = get("params")
            .or(get("model_n_params"))
            .and_then(param_count);
        r.backend = get("backend").map(str::to_string);
        r.settings.n_gpu_layers = get("ngl")
            .or(get("n_gpu_layers"))
            .and_then(|v| v.parse().ok());
        r.settings.n_threads = get("threads")
            .or(get("n_threads"))
            .and_then(|v| v.parse().ok());
        r.settings.n_batch = get("n_batch").and_then(|v| v.parse().ok());
        r.settings.n_ubatch = get("n_ubatch").and_then(|v| v.parse().ok());
        r.settings.type_k = get("type_k").map(str::to_string);
        r.settings.type_v = get("type_v").map(str::to_string);
        r.settings.flash_attn = get("fa").or(get("flash_attn")).and_then(parse_bool);
        r.speed.push(SpeedReading {
            kind,
            n_prompt,
            n_gen,
            depth,
            tokens_per_sec: ts,
            stddev,
        });
        self.table.push(r);
    }

    pub(super) fn finish(&mut self, out: &mut Vec<MeasurementRecord>) {
        self.flush(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names() {
        assert_eq!(parse_test("pp512"), Some((512, 0, 0)));
        assert_eq!(parse_test("tg 128"), Some((0, 128, 0)));
        assert_eq!(parse_test("pp512 @ d512"), Some((512, 0, 512)));
        assert_eq!(parse_test("pp512+tg128"), Some((512, 128, 0)));
        assert_eq!(parse_test("pp 512 + tg 128"), Some((512, 128, 0)));
        assert_eq!(parse_test("xx"), None);
    }
}
