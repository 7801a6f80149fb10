//! The measurement record: one run of a runtime on a device, as measured or as the runtime printed it.
//!
//! Plain data (one JSON object per line in a `.jsonl` file). Every reading is optional: an importer
//! fills what its source printed, `headroom measure` fills what NVML sampled, and validation compares
//! only what is there. Byte counts are exact bytes; MiB/GiB figures a runtime printed are converted
//! with 1 MiB = 2^20 bytes.

use crate::units::Bytes;
use serde::{Deserialize, Serialize};

/// The version of this record layout, written into every record.
pub const RECORD_SCHEMA: u32 = 1;

/// The most memory, speed, device or duration entries one record keeps (importers read untrusted
/// text; a record cannot grow without bound).
pub const MAX_ENTRIES: usize = 64;

/// How the run ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Ran to the end (or the source shows no sign of failure).
    #[default]
    Ok,
    /// Exited with an error, or the log shows an allocation failure.
    Failed,
    /// Stopped by a signal (Ctrl-C, a kill, a timeout).
    Interrupted,
}

/// What produced the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// `headroom measure`: NVML sampled while a command ran.
    Nvml,
    LlamaBench,
    /// `llama-batched-bench`'s table: one record per row, `settings.n_seq` sequences at once.
    LlamaBatchedBench,
    LlamaCppLog,
    VllmLog,
    VllmBenchServe,
    MlxLm,
    OllamaVerbose,
    /// A row of a public measurement table (shared/validation CSV layout).
    ValidationCsv,
    /// scripts/measure_transformers.py: a transformers model timed and measured with torch's own
    /// memory counters.
    TransformersScript,
}

/// Where the numbers came from: the kind of source, the file or command, and the line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub kind: SourceKind,
    /// File name, URL or command line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub origin: String,
    /// 1-based line of the input where the record starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// A source citation carried from the input (the validation CSVs' `source` column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
}

impl Provenance {
    pub fn new(kind: SourceKind) -> Provenance {
        Provenance {
            kind,
            origin: String::new(),
            line: None,
            citation: None,
        }
    }
}

/// One accelerator or host as the source named it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The name as printed (`NVIDIA GeForce RTX 4090`, `RTX 3090`, `Apple M2 Ultra`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_total: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
}

/// The CPU a run had, as `--cpu GBS,THREADS,ISA,GHZ` gives one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuRun {
    /// Memory bandwidth measured for `threads` threads, GB/s.
    pub bandwidth_gbs: f64,
    pub threads: u32,
    /// avx2, avx512, amx or neon: the widest SIMD unit the runtime's build uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isa: Option<String>,
    /// Core clock, GHz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ghz: Option<f64>,
    /// The machine's online CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    /// CPU time other processes used while the run ran, in cores (busy time over wall time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_cores: Option<f64>,
    /// The same while the bandwidth was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_other_cores: Option<f64>,
}

/// How much more than the cores a run left idle other processes may have used before its timings
/// are not the machine's: a tenth of a core.
pub const QUIET_SLACK_CORES: f64 = 0.1;

impl CpuRun {
    /// Why the run's timings do not stand for the machine, if they do not: other processes used
    /// more than the cores it left idle (plus [`QUIET_SLACK_CORES`]); on a run that took every
    /// core, any other work stalls its threads at each barrier.
    pub fn contended(&self) -> Option<String> {
        let cores = self.cores?;
        let idle = f64::from(cores.saturating_sub(self.threads));
        let over = |v: Option<f64>| v.filter(|o| *o > idle + QUIET_SLACK_CORES);
        let why = |o: f64, what: &str| {
            format!(
                "other processes used {o:.2} cores while {what}, more than the {idle:.0} its {} thread(s) left idle of {cores}",
                self.threads
            )
        };
        over(self.other_cores)
            .map(|o| why(o, "it ran"))
            .or_else(|| {
                over(self.bandwidth_other_cores).map(|o| why(o, "its bandwidth was measured"))
            })
    }
}

/// The settings that change memory and speed, named after llama.cpp's flags where one exists.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_ctx: Option<u32>,
    /// llama.cpp's CPU weight repacking (`--no-repack` is `Some(false)`), as llama-bench prints it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repack: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_batch: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_ubatch: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_seq: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_attn: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_k: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_v: Option<String>,
    /// `-ngl`; a negative value is llama-bench's "all layers".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_gpu_layers: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_threads: Option<u32>,
    /// vLLM `--gpu-memory-utilization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_memory_utilization: Option<f64>,
    /// Number of devices the model is split over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_devices: Option<u32>,
}

/// Memory by purpose on one device, as the runtime reported it (or as NVML saw it: `total` only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReading {
    /// The runtime's device label (`CUDA0`, `Metal`, `CPU`, `CPU_Mapped`, `CUDA_Host`) or `gpu0`.
    pub device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Bytes>,
    /// CUDA graphs (vLLM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graphs: Option<Bytes>,
    /// Everything this run holds on the device (the runtime's "self", or NVML's peak for the process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Bytes>,
    /// Memory the device reports as free while the run holds its buffers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<Bytes>,
    /// Memory in use that the runtime cannot attribute (drivers, other programs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unaccounted: Option<Bytes>,
}

impl MemoryReading {
    pub fn on(device: &str) -> MemoryReading {
        MemoryReading {
            device: device.to_string(),
            ..MemoryReading::default()
        }
    }

    /// The sum of the purposes that are present (weights, KV, compute, output, graphs).
    pub fn sum_of_parts(&self) -> Option<Bytes> {
        let parts = [
            self.weights,
            self.kv_cache,
            self.compute,
            self.output,
            self.graphs,
        ];
        parts
            .iter()
            .any(Option::is_some)
            .then(|| parts.iter().flatten().copied().sum())
    }
}

/// Where a runtime's device label puts memory: on GPU `i`, or in host memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSlot {
    Gpu(u32),
    Host,
}

impl DeviceSlot {
    /// `CUDA1`, `ROCm0`, `Vulkan2`, `SYCL0`, `gpu0`, `rank1` → that GPU; `Metal`/`MTL0` → GPU 0;
    /// `CPU`, `CPU_Mapped`, `CUDA_Host`, `Host`, `AMX`, `CPU_REPACK` → host.
    pub fn from_label(label: &str) -> DeviceSlot {
        let l = label.trim();
        let lower = l.to_ascii_lowercase();
        // Metal buffers (`Metal`, `Metal_Mapped`, `MTL0`) are the Apple GPU's, in unified memory.
        if lower.starts_with("metal") || lower.starts_with("mtl") {
            return DeviceSlot::Gpu(0);
        }
        if lower.contains("host")
            || lower.starts_with("cpu")
            || lower == "amx"
            || lower.contains("mapped")
            || lower.contains("repack")
        {
            return DeviceSlot::Host;
        }
        let digits: String = l
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        DeviceSlot::Gpu(digits.parse().unwrap_or(0))
    }
}

/// What a speed reading timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeedKind {
    /// Processing a prompt of `n_prompt` tokens (llama-bench `ppN`).
    Prefill,
    /// Generating `n_gen` tokens (llama-bench `tgN`).
    Decode,
    /// A prompt then generation, timed together (llama-bench `pp N + tg M`).
    PrefillDecode,
}

/// One throughput reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedReading {
    pub kind: SpeedKind,
    #[serde(default)]
    pub n_prompt: u32,
    #[serde(default)]
    pub n_gen: u32,
    /// Tokens already in the context before the timed part (llama-bench `@ dN`).
    #[serde(default)]
    pub depth: u32,
    pub tokens_per_sec: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stddev: Option<f64>,
}

/// A serving benchmark's summary (`vllm bench serve`); times in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServingReading {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful_requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_throughput: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_sec: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens_per_sec: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_ttft_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ttft_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ttft_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_tpot_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_tpot_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_tpot_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_itl_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_itl_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_itl_ms: Option<f64>,
}

/// How much context a paged KV cache holds (vLLM).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KvCapacity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<u64>,
    /// "Maximum concurrency for `per_request_tokens` tokens per request: `max_concurrency`x".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_request_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<f64>,
}

/// A summary of one GPU's NVML samples over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuSummary {
    pub device: DeviceInfo,
    pub samples: u64,
    /// Achieved sampling rate.
    pub sample_hz: f64,
    pub duration_s: f64,
    /// Device memory in use before the command started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_used_before: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_used_peak: Option<Bytes>,
    /// Peak of the memory NVML attributes to the command's own processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_memory_peak: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_mean_w: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_max_w: Option<f64>,
    /// From the energy counter where the GPU has one, else the integral of the power samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_j: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_clock_mhz_max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_clock_mhz_max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_util_mean_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_util_mean_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcie_rx_mean_kbs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcie_tx_mean_kbs: Option<f64>,
}

/// What the operating system reported about the command's process tree while it ran (procfs on
/// Linux, `ps` on macOS).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSummary {
    /// `procfs` or `ps`.
    pub sensor: String,
    pub samples: u64,
    pub interval_s: f64,
    /// The largest resident memory of the tree, summed over its live processes at one sample.
    pub rss_peak: Bytes,
    /// The root process's own high-water mark (`VmHWM`, Linux), which a sample cannot miss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hwm_peak: Option<Bytes>,
    /// User plus system CPU seconds of the tree.
    pub cpu_time_s: f64,
    /// CPU seconds per wall second (2.0: two cores busy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_utilization: Option<f64>,
    pub processes_peak: u32,
}

/// The command `headroom measure` ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandRun {
    pub argv: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub duration_s: f64,
    /// The last part of what the command printed (bounded).
    #[serde(default)]
    pub stdout_tail: String,
    #[serde(default)]
    pub stderr_tail: String,
    /// Bytes the command printed beyond what was kept.
    #[serde(default)]
    pub bytes_dropped: u64,
}

/// One measurement record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasurementRecord {
    pub schema: u32,
    #[serde(default)]
    pub status: RunStatus,
    pub source: Provenance,
    /// Seconds since the Unix epoch when the run started, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceInfo>,
    /// The CPU a CPU run had, by its measured numbers (`--cpu GBS,THREADS,ISA,GHZ`): the memory
    /// bandwidth the machine gave the run's thread count, measured beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// `llama.cpp`, `vllm`, `mlx`, `ollama`, `transformers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Build or version of the runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// The backend the runtime used (`CUDA`, `Metal`, `CPU`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quant: Option<String>,
    /// Size of the weight file, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_size: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_params: Option<u64>,
    #[serde(default)]
    pub settings: RunSettings,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory: Vec<MemoryReading>,
    /// Peak memory of the whole process where only that is known (mlx_lm "Peak memory").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory: Option<Bytes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speed: Vec<SpeedReading>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<ServingReading>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_capacity: Option<KvCapacity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<GpuSummary>,
    /// The command's process tree as the operating system saw it (`headroom measure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostSummary>,
    /// The sensors `headroom measure` had: `nvml`, `procfs`, `ps`, `output` (the runtime's log).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandRun>,
    /// Load and run durations a runtime printed, seconds (`load`, `prompt_eval`, `eval`, `total`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub durations: Vec<(String, f64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl MeasurementRecord {
    pub fn new(kind: SourceKind) -> MeasurementRecord {
        MeasurementRecord {
            schema: RECORD_SCHEMA,
            status: RunStatus::Ok,
            source: Provenance::new(kind),
            started_at: None,
            devices: Vec::new(),
            cpu: None,
            driver: None,
            runtime: None,
            runtime_version: None,
            backend: None,
            model: None,
            quant: None,
            model_size: None,
            n_params: None,
            settings: RunSettings::default(),
            memory: Vec::new(),
            peak_memory: None,
            speed: Vec::new(),
            serving: None,
            kv_capacity: None,
            gpus: Vec::new(),
            host: None,
            sensors: Vec::new(),
            command: None,
            durations: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The reading for `device`, created if absent.
    pub fn memory_on(&mut self, device: &str) -> &mut MemoryReading {
        let i = match self.memory.iter().position(|m| m.device == device) {
            Some(i) => i,
            None => {
                self.memory.push(MemoryReading::on(device));
                self.memory.len() - 1
            }
        };
        &mut self.memory[i]
    }

    /// The reading for `device`, created if absent and there is room ([`MAX_ENTRIES`]).
    pub fn try_memory_on(&mut self, device: &str) -> Option<&mut MemoryReading> {
        if self.memory.len() >= MAX_ENTRIES && !self.memory.iter().any(|m| m.device == device) {
            return None;
        }
        Some(self.memory_on(device))
    }

    /// Adds a speed reading while there is room.
    pub fn add_speed(&mut self, s: SpeedReading) {
        if self.speed.len() < MAX_ENTRIES {
            self.speed.push(s);
        }
    }

    /// Adds a named duration while there is room.
    pub fn add_duration(&mut self, name: &str, seconds: f64) {
        if self.durations.len() < MAX_ENTRIES {
            self.durations.push((name.to_string(), seconds));
        }
    }

    /// Adds a device, replacing one of the same index or name, while there is room.
    pub fn add_device(&mut self, d: DeviceInfo) {
        self.devices
            .retain(|x| !(x.name == d.name || (x.index.is_some() && x.index == d.index)));
        if self.devices.len() < MAX_ENTRIES {
            self.devices.push(d);
        }
    }

    /// Adds a note while there is room.
    pub fn add_note(&mut self, note: String) {
        if self.notes.len() < MAX_ENTRIES {
            self.notes.push(note);
        }
    }

    /// Memory summed by where it sits (several `CPU_Mapped` buffers add up to one host figure).
    pub fn memory_by_slot(&self) -> Vec<(DeviceSlot, MemoryReading)> {
        let mut out: Vec<(DeviceSlot, MemoryReading)> = Vec::new();
        for m in &self.memory {
            let slot = DeviceSlot::from_label(&m.device);
            let i = match out.iter().position(|(s, _)| *s == slot) {
                Some(i) => i,
                None => {
                    let label = match slot {
                        DeviceSlot::Gpu(i) => format!("gpu{i}"),
                        DeviceSlot::Host => "host".to_string(),
                    };
                    out.push((slot, MemoryReading::on(&label)));
                    out.len() - 1
                }
            };
            let acc = &mut out[i].1;
            let add = |a: &mut Option<Bytes>, b: Option<Bytes>| {
                if let Some(b) = b {
                    *a = Some(a.unwrap_or(Bytes::ZERO) + b);
                }
            };
            add(&mut acc.weights, m.weights);
            add(&mut acc.kv_cache, m.kv_cache);
            add(&mut acc.compute, m.compute);
            add(&mut acc.output, m.output);
            add(&mut acc.graphs, m.graphs);
            add(&mut acc.total, m.total);
            add(&mut acc.free, m.free);
            add(&mut acc.unaccounted, m.unaccounted);
        }
        out.sort_by_key(|(s, _)| *s);
        out
    }

    /// Whether the record holds any reading at all.
    pub fn has_readings(&self) -> bool {
        !self.memory.is_empty()
            || self.peak_memory.is_some()
            || !self.speed.is_empty()
            || self.serving.is_some()
            || self.kv_capacity.is_some()
            || !self.gpus.is_empty()
            || self.host.is_some()
            || !self.durations.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_labels_map_to_slots() {
        assert_eq!(DeviceSlot::from_label("CUDA0"), DeviceSlot::Gpu(0));
        assert_eq!(DeviceSlot::from_label("CUDA14"), DeviceSlot::Gpu(14));
        assert_eq!(DeviceSlot::from_label("ROCm1"), DeviceSlot::Gpu(1));
        assert_eq!(DeviceSlot::from_label("Metal"), DeviceSlot::Gpu(0));
        assert_eq!(DeviceSlot::from_label("Metal_Mapped"), DeviceSlot::Gpu(0));
        assert_eq!(DeviceSlot::from_label("rank1"), DeviceSlot::Gpu(1));
        assert_eq!(DeviceSlot::from_label("CPU_Mapped"), DeviceSlot::Host);
        assert_eq!(DeviceSlot::from_label("CUDA_Host"), DeviceSlot::Host);
        assert_eq!(DeviceSlot::from_label("CPU"), DeviceSlot::Host);
        assert_eq!(DeviceSlot::from_label("AMX"), DeviceSlot::Host);
    }

    #[test]
    fn memory_by_slot_adds_host_buffers() {
        let mut r = MeasurementRecord::new(SourceKind::LlamaCppLog);
        r.memory_on("CPU_Mapped").weights = Some(Bytes(100));
        r.memory_on("CUDA0").weights = Some(Bytes(7));
        r.memory_on("AMX").weights = Some(Bytes(50));
        r.memory_on("CUDA_Host").output = Some(Bytes(3));
        let slots = r.memory_by_slot();
        assert_eq!(slots[0].0, DeviceSlot::Gpu(0));
        assert_eq!(slots[1].0, DeviceSlot::Host);
        assert_eq!(slots[1].1.weights, Some(Bytes(150)));
        assert_eq!(slots[1].1.output, Some(Bytes(3)));
        assert_eq!(slots[1].1.kv_cache, None);
    }

    #[test]
    fn record_round_trips_through_json() {
        let mut r = MeasurementRecord::new(SourceKind::Nvml);
        r.status = RunStatus::Interrupted;
        r.settings.n_ctx = Some(4096);
        r.speed.push(SpeedReading {
            kind: SpeedKind::Decode,
            n_prompt: 0,
            n_gen: 128,
            depth: 512,
            tokens_per_sec: 116.71,
            stddev: Some(0.6),
        });
        r.durations.push(("load".into(), 1.5));
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"status\":\"interrupted\""));
        let back: MeasurementRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }
}
