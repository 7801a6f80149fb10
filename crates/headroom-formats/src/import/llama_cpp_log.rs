//! llama.cpp's load log: the buffer each device gets (`load_tensors: CUDA0 model buffer size = N MiB`,
//! `llama_kv_cache_init: CUDA0 KV buffer size`, `CUDA0 compute buffer size`, `CUDA_Host output
//! buffer size`), the context settings (`n_ctx`, `n_batch`, `n_ubatch`, `flash_attn`, K/V types),
//! and the memory breakdown table (`llama_memory_breakdown_print` / `common_memory_breakdown_print`).
//! Both the `llm_load_tensors`/`llama_new_context_with_model` and the newer `load_tensors`/
//! `llama_context` spellings are read. A new model load (weights after a context) starts a new record.

use super::text::{after, binary_size, numbers, quant_from_ftype, size_with_unit};
use headroom_core::measure::{DeviceInfo, DeviceSlot, MeasurementRecord, RunStatus, SourceKind};
use headroom_core::Bytes;

#[derive(Debug, Default)]
pub struct State {
    cur: Option<MeasurementRecord>,
    in_breakdown: bool,
    kv_self: Option<Bytes>,
    /// Inside `common_params_fit`'s dry run, whose memory breakdown is a projection printed
    /// before the model loads, not what the run allocated.
    in_fit_probe: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Weights,
    Kv,
    Compute,
    Output,
}

fn add(slot: &mut Option<Bytes>, b: Bytes) {
    *slot = Some(slot.unwrap_or(Bytes::ZERO) + b);
}

impl State {
    fn rec(&mut self, n: u64) -> &mut MeasurementRecord {
        self.cur.get_or_insert_with(|| {
            let mut r = MeasurementRecord::new(SourceKind::LlamaCppLog);
            r.source.line = Some(n);
            r.runtime = Some("llama.cpp".into());
            r
        })
    }

    fn flush(&mut self, out: &mut Vec<MeasurementRecord>) {
        if let Some(mut r) = self.cur.take() {
            if let Some(kv) = self.kv_self.take() {
                if !r.memory.iter().any(|m| m.kv_cache.is_some()) {
                    r.notes
                        .push(format!("KV self size {kv} (device not printed)"));
                }
            }
            if r.has_readings() || r.status != RunStatus::Ok {
                out.push(r);
            }
        }
        self.kv_self = None;
    }

    fn buffer_line(&mut self, line: &str, n: u64, out: &mut Vec<MeasurementRecord>) -> bool {
        let Some(idx) = line.find("buffer size") else {
            return false;
        };
        let Some(value) = after(&line[idx..], "=").and_then(size_with_unit) else {
            return false;
        };
        let prefix = &line[..idx];
        let (func, words) = match prefix.rfind(':') {
            Some(c) => (&prefix[..c], &prefix[c + 1..]),
            None => ("", prefix),
        };
        let words: Vec<&str> = words.split_whitespace().collect();
        let Some(label) = words.first() else {
            return false;
        };
        let kind = words.get(1).copied().unwrap_or("");
        let part = match kind {
            "model" | "REPACK" => Part::Weights,
            "KV" | "RS" => Part::Kv,
            "compute" => Part::Compute,
            "output" => Part::Output,
            "" if func.contains("load_tensors") => Part::Weights,
            "" if func.contains("kv_cache") => Part::Kv,
            _ => return false,
        };
        if part == Part::Weights {
            let started = self.cur.as_ref().is_some_and(|r| {
                r.memory
                    .iter()
                    .any(|m| m.kv_cache.is_some() || m.compute.is_some())
            });
            if started {
                self.flush(out);
            }
        }
        let Some(m) = self.rec(n).try_memory_on(label) else {
            return true;
        };
        match part {
            Part::Weights => add(&mut m.weights, value),
            Part::Kv => add(&mut m.kv_cache, value),
            Part::Compute => add(&mut m.compute, value),
            Part::Output => add(&mut m.output, value),
        }
        true
    }

    fn breakdown_line(&mut self, line: &str, n: u64) -> bool {
        if line.contains("common_params_fit_impl: getting device memory") {
            self.in_fit_probe = true;
            return true;
        }
        if self.in_fit_probe {
            if line.contains("common_params_fit_impl: projected")
                || line.contains("common_fit_params:")
                || line.contains("llama_model_loader:")
            {
                self.in_fit_probe = false;
            } else {
                return line.contains("breakdown");
            }
        }
        if line.contains("memory breakdown") {
            self.in_breakdown = true;
            return true;
        }
        if !self.in_breakdown {
            return false;
        }
        let Some(fpos) = line.find("breakdown") else {
            self.in_breakdown = false;
            return false;
        };
        let Some(colon) = line[fpos..].find(':') else {
            return false;
        };
        let rest = line[fpos + colon + 1..]
            .trim()
            .trim_start_matches('|')
            .trim();
        let Some(entry) = rest.strip_prefix("- ") else {
            return true;
        };
        let label_end = entry.find([' ', '(', ':', '|']).unwrap_or(entry.len());
        let label = &entry[..label_end];
        let mut tail = &entry[label_end..];
        let mut name = label.to_string();
        if let Some(open) = tail.find('(') {
            if tail[..open].trim().is_empty() {
                if let Some(close) = tail.find(')') {
                    name = format!("{label} ({})", &tail[open + 1..close]);
                    tail = &tail[close + 1..];
                }
            }
        }
        let tail = tail.trim_start().trim_start_matches([':', '|']);
        let v = numbers(tail);
        let mib = |x: f64| binary_size(x.max(0.0), "MiB");
        let (total, free, self_, model, compute, unacc) = match v.len() {
            7 => (Some(v[0]), Some(v[1]), v[2], v[3], v[5], Some(v[6])),
            5 => (Some(v[0]), None, v[1], v[2], v[4], None),
            4 => (None, None, v[0], v[1], v[3], None),
            _ => return true,
        };
        let r = self.rec(n);
        // The breakdown's `Host` row sums the host buffers already read from their own lines
        // (`CPU_Mapped`, `CPU`, `CPU_REPACK`); its parts are taken only when those are absent.
        let host_buffers_read = label == "Host"
            && r.memory.iter().any(|m| {
                m.device != "Host"
                    && DeviceSlot::from_label(&m.device) == DeviceSlot::Host
                    && m.sum_of_parts().is_some()
            });
        if let Some(t) = total.and_then(mib) {
            r.add_device(DeviceInfo {
                name,
                memory_total: Some(t),
                ..DeviceInfo::default()
            });
        }
        let Some(m) = r.try_memory_on(label) else {
            return true;
        };
        m.total = mib(self_);
        m.free = free.and_then(mib);
        // `unaccounted` can be negative when other processes free memory; keep it only when not.
        m.unaccounted = unacc.filter(|u| *u >= 0.0).and_then(mib);
        if host_buffers_read {
            return true;
        }
        if m.weights.is_none() {
            m.weights = mib(model);
        }
        if m.compute.is_none() {
            m.compute = mib(compute);
        }
        true
    }

    fn setting_line(&mut self, line: &str, n: u64) {
        let ctx_fn = [
            "llama_new_context_with_model:",
            "llama_context:",
            "llama_init_from_model:",
        ];
        if let Some(f) = ctx_fn.iter().find(|f| line.contains(**f)) {
            let Some(body) = after(line, f) else { return };
            let Some((k, v)) = body.split_once('=') else {
                return;
            };
            let k = k.trim();
            let v = v.trim();
            let u = v
                .split_whitespace()
                .next()
                .and_then(|x| x.parse::<u32>().ok());
            match k {
                "n_ctx" => self.rec(n).settings.n_ctx = u,
                "n_batch" => self.rec(n).settings.n_batch = u,
                "n_ubatch" => self.rec(n).settings.n_ubatch = u,
                "n_seq_max" => self.rec(n).settings.n_seq = u,
                "flash_attn" => {
                    let w = v.to_ascii_lowercase();
                    self.rec(n).settings.flash_attn =
                        if w.starts_with('1') || w.starts_with("enabled") || w.starts_with("on") {
                            Some(true)
                        } else if w.starts_with('0')
                            || w.starts_with("disabled")
                            || w.starts_with("off")
                        {
                            Some(false)
                        } else {
                            None
                        };
                }
                _ => {}
            }
            if !line.contains("KV self size") {
                return;
            }
        }
        // `-fa auto` prints `flash_attn = auto` and then what it resolved to.
        if line.contains("resolve_fused_ops:") || line.contains("llama_context: Flash Attention") {
            if line.contains("Flash Attention enabled") {
                self.rec(n).settings.flash_attn = Some(true);
            } else if line.contains("Flash Attention") && line.contains("disabled") {
                self.rec(n).settings.flash_attn = Some(false);
            }
        }
        if let Some(t) = after(line, "type_k = '") {
            let k = t.split('\'').next().unwrap_or("").to_string();
            self.rec(n).settings.type_k = Some(k);
            if let Some(t) = after(line, "type_v = '") {
                let v = t.split('\'').next().unwrap_or("").to_string();
                self.rec(n).settings.type_v = Some(v);
            }
        }
        if line.contains("KV self size")
            || line.contains("llama_kv_cache: size")
            || line.contains("llama_kv_cache_unified: size")
        {
            if let Some(v) = after(line, "=").and_then(size_with_unit) {
                self.kv_self = Some(v);
            }
            let ty = |key: &str| {
                after(line, key)
                    .and_then(|t| t.split(')').next())
                    .map(|s| s.trim().to_string())
            };
            if let Some(k) = ty("K (") {
                self.rec(n).settings.type_k = Some(k);
            }
            if let Some(v) = ty("V (") {
                self.rec(n).settings.type_v = Some(v);
            }
        }
    }

    fn meta_line(&mut self, line: &str, n: u64) {
        let t = line.trim();
        if line.contains("general.name") {
            if let Some(v) = after(line, "=") {
                self.rec(n).model = Some(v.trim().to_string());
            }
        } else if line.contains("file type") || line.contains("model ftype") {
            if let Some(q) = after(line, "=").and_then(quant_from_ftype) {
                self.rec(n).quant = Some(q);
            }
        } else if line.contains("file size") || line.contains("model size") {
            if let Some(b) = after(line, "=").and_then(size_with_unit) {
                self.rec(n).model_size = Some(b);
            }
        } else if let Some(rest) = t.strip_prefix("Device ") {
            if let Some((idx, name)) = rest.split_once(':') {
                if let Ok(i) = idx.trim().parse::<u32>() {
                    let name = name.split(',').next().unwrap_or("").trim().to_string();
                    let r = self.rec(n);
                    r.add_device(DeviceInfo {
                        name,
                        index: Some(i),
                        ..DeviceInfo::default()
                    });
                }
            }
        } else if let Some(b) = t
            .strip_prefix("build:")
            .or_else(|| t.strip_prefix("version:"))
        {
            self.rec(n).runtime_version = Some(b.trim().to_string());
        } else if let Some(b) = after(line, "main: build = ") {
            self.rec(n).runtime_version = Some(b.trim().to_string());
        }
    }

    pub(super) fn line(&mut self, line: &str, n: u64, out: &mut Vec<MeasurementRecord>) {
        if self.breakdown_line(line, n) {
            return;
        }
        if line.contains("failed to allocate")
            || line.contains("cudaMalloc failed")
            || line.contains("out of memory")
            || line.contains("failed to create context")
        {
            // Only once a llama.cpp load is under way: other runtimes print "out of memory" too.
            if let Some(r) = &mut self.cur {
                r.status = RunStatus::Failed;
                if r.notes.len() < 8 {
                    r.add_note(line.trim().chars().take(200).collect());
                }
            }
            return;
        }
        if self.buffer_line(line, n, out) {
            return;
        }
        self.setting_line(line, n);
        self.meta_line(line, n);
    }

    pub(super) fn finish(&mut self, out: &mut Vec<MeasurementRecord>) {
        self.flush(out);
    }
}
