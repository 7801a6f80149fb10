//! Command-line arguments: clap types only, named after llama.cpp's flags where they exist.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "headroom",
    version,
    about = "Will this LLM fit on this hardware, with how much context, and how fast?"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Memory breakdown per device, whether it fits, the max context, and the offload when it does not.
    Fit(Box<FitArgs>),
    /// List the built-in models.
    Models(ListArgs),
    /// List the built-in hardware.
    Hardware(ListArgs),
    /// Read a GGUF, safetensors or config.json file (headers only) and describe the model in it,
    /// or every model under a folder.
    Inspect(InspectArgs),
    /// Run a command while its memory and CPU time (and NVML's GPU readings, where present) are
    /// sampled; append one measurement record.
    Measure(crate::measure_cmd::MeasureArgs),
    /// This machine's GPUs and memory, and how much is free now.
    Detect(crate::detect_cmd::DetectArgs),
    /// Turn what runtimes printed (llama-bench, llama.cpp, vLLM, mlx-lm, Ollama) into records.
    Import(crate::import_cmd::ImportArgs),
    /// Compare records with the memory model: median and p90 error per quantity, worst rows, plot.
    Validate(crate::validate_cmd::ValidateArgs),
    /// Fit memory and speed corrections to one device's records and write a calibration profile.
    Calibrate(crate::calibrate_cmd::CalibrateArgs),
    /// Simulate a serving engine under load: latency percentiles, throughput, the highest rate
    /// within latency targets and the replicas a target rate needs.
    Simulate(Box<SimulateArgs>),
    /// Prompt and generation speed, time to first token, and a verdict per use case.
    Speed(Box<SpeedArgs>),
    /// The catalog models and quantizations that fit a device, best first, with speed and verdict.
    Plan(PlanArgs),
    /// Judge a claimed or observed number (tok/s, time to first token, VRAM, load time, "it runs"):
    /// impossible, implausible or plausible, and the settings that would produce it.
    Check(Box<CheckArgs>),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A model file or folder, or a folder of models (one line per model found).
    pub file: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Clone, Debug, Args)]
pub struct ScenarioArgs {
    /// A catalog model (id, Hugging Face repo, alias, Ollama tag) or a path to a .gguf or config.json file.
    #[arg(
        long,
        short = 'm',
        required_unless_present = "params",
        default_value = ""
    )]
    pub model: String,
    /// A bare size instead of a model (`70b`, `7.5b`, `500m`): a generic dense transformer shaped
    /// after the catalog's Llama models; the answer says it is an estimate.
    #[arg(long, conflicts_with = "model")]
    pub params: Option<String>,
    /// Hardware id, or a comma list for several GPUs (`rtx-3090,rtx-3090`); `m4-pro-64gb` picks a memory option.
    #[arg(long)]
    pub hardware: Option<String>,
    /// Number of identical GPUs of `--hardware`.
    #[arg(long)]
    pub gpus: Option<u32>,
    /// A device given by its numbers: `MEMORY_GIB,BANDWIDTH_GBS[,FP16_TFLOPS]`.
    #[arg(long, value_name = "GIB,GBS[,TFLOPS]")]
    pub custom: Option<String>,
    /// A CPU by its numbers: memory bandwidth GB/s and threads, with the instruction set
    /// (avx2, avx512, amx, neon) and all-core clock for its compute rate. Alone it is the
    /// device; next to `--hardware` GPUs it is their host (the system RAM layers offload to).
    /// With a catalog CPU profile (`--hardware` or `--host`) it replaces the profile's numbers;
    /// without ISA,GHZ the profile's instruction set and base clock are kept.
    #[arg(long, value_name = "GBS,THREADS[,ISA,GHZ]")]
    pub cpu: Option<String>,
    /// The system RAM next to the GPUs as a CPU profile id (`ddr4-3200-2ch`, see `headroom hardware`).
    #[arg(long, value_name = "PROFILE")]
    pub host: Option<String>,
    /// Device memory in GiB (a Mac's RAM, a CPU profile's RAM, a custom size).
    #[arg(long)]
    pub memory: Option<f64>,
    /// System RAM in GiB, to check what stays on the host.
    #[arg(long)]
    pub ram: Option<f64>,
    /// macOS `iogpu.wired_limit_mb` override.
    #[arg(long)]
    pub wired_limit_mb: Option<u64>,
    /// llama.cpp (also ollama, lmstudio), vllm, mlx, transformers.
    #[arg(long)]
    pub runtime: Option<String>,
    /// llama.cpp's backend: cuda, vulkan, rocm, metal, sycl or cpu (default: what the device
    /// normally uses).
    #[arg(long)]
    pub backend: Option<String>,
    /// Weight format: Q4_K_M, Q8_0, F16, IQ4_XS, mlx-4bit, gptq-4bit, awq-4bit, fp8, nf4, exl2-4.5 ...
    #[arg(long, short = 'q')]
    pub quant: Option<String>,
    /// Context size (`-c`); 0 means the model's trained length.
    #[arg(long = "ctx", short = 'c')]
    pub ctx: Option<u32>,
    #[arg(long = "batch", short = 'b')]
    pub batch: Option<u32>,
    #[arg(long = "ubatch")]
    pub ubatch: Option<u32>,
    #[arg(long = "cache-type-k")]
    pub cache_type_k: Option<String>,
    #[arg(long = "cache-type-v")]
    pub cache_type_v: Option<String>,
    #[arg(long = "flash-attn", value_enum)]
    pub flash_attn: Option<OnOff>,
    /// Layers on the GPU (`-ngl`); the output layer counts as one.
    #[arg(long = "gpu-layers")]
    pub gpu_layers: Option<u32>,
    /// Parallel sequences (`-np`).
    #[arg(long = "parallel")]
    pub parallel: Option<u32>,
    /// Keep all routed experts in system RAM (`--cpu-moe`).
    #[arg(long = "cpu-moe")]
    pub cpu_moe: bool,
    /// Keep the routed experts of the first N layers in system RAM (`--n-cpu-moe`).
    #[arg(long = "n-cpu-moe")]
    pub n_cpu_moe: Option<u32>,
    /// llama.cpp `--no-repack`: no repacked copy of the weights for the CPU's kernels.
    #[arg(long = "no-repack")]
    pub no_repack: bool,
    /// vLLM `--gpu-memory-utilization`.
    #[arg(long)]
    pub gpu_memory_utilization: Option<f64>,
    /// vLLM `--max-num-seqs`.
    #[arg(long)]
    pub max_num_seqs: Option<u32>,
    /// vLLM `--max-num-batched-tokens`.
    #[arg(long)]
    pub max_num_batched_tokens: Option<u32>,
    /// vLLM `--kv-cache-dtype` (auto, fp8).
    #[arg(long)]
    pub kv_cache_dtype: Option<String>,
    /// vLLM `--tensor-parallel-size`.
    #[arg(long)]
    pub tensor_parallel: Option<u32>,
    /// transformers attention: sdpa or eager.
    #[arg(long)]
    pub attention: Option<String>,
    /// MLX `--kv-bits`.
    #[arg(long)]
    pub kv_bits: Option<u8>,
    /// Let the max-context search go beyond the model's trained length.
    #[arg(long)]
    pub beyond_trained: bool,
    /// llama.cpp `--swa-full`: sliding-window layers keep a cache of the whole context.
    #[arg(long)]
    pub swa_full: bool,
    /// llama.cpp `--mmproj`: count a vision-language model's projector (its weights and clip
    /// compute buffer), on the first GPU unless `--no-mmproj-offload`.
    #[arg(long)]
    pub mmproj: bool,
    /// The mmproj file's type: f16 (as convert_hf_to_gguf.py --mmproj writes), q8_0, bf16, f32.
    #[arg(long, value_name = "TYPE")]
    pub mmproj_type: Option<String>,
    /// llama.cpp `--no-mmproj-offload`: the projector runs on the CPU.
    #[arg(long)]
    pub no_mmproj_offload: bool,
    /// linux, windows, wsl2 or macos: Windows and WSL2 keep VRAM from CUDA, and their NVIDIA
    /// driver may spill what does not fit to system memory.
    #[arg(long)]
    pub os: Option<String>,
    /// With `--os windows`: whether the first GPU drives the desktop (default yes; `no` for a
    /// second card or a display on the integrated GPU).
    #[arg(long = "display-gpu", value_enum)]
    pub display_gpu: Option<YesNo>,
    /// An Ollama variable for `--runtime ollama`, as in Ollama's environment
    /// (`--env OLLAMA_NUM_PARALLEL=4 --env OLLAMA_KV_CACHE_TYPE=q8_0`); repeatable.
    #[arg(long = "env", value_name = "OLLAMA_X=VALUE")]
    pub env: Vec<String>,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// A calibration profile from `headroom calibrate` for this device and runtime.
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// Plan against the memory free now on this machine's GPU (read through NVML, as `detect`).
    #[arg(long)]
    pub free: bool,
    /// Tokens already in the cache for the speed line (default: the rest of the context set,
    /// after the 512-token prompt and 128 generated).
    #[arg(long)]
    pub depth: Option<u32>,
    /// Print the JSON contract instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SpeedArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Prompt tokens (prompt speed and time to first token).
    #[arg(long, default_value_t = 512)]
    pub prompt: u32,
    /// Tokens to generate; generation speed is their average, as llama-bench's tgN.
    #[arg(long = "gen", default_value_t = 128)]
    pub gen: u32,
    /// Tokens already in the KV cache before the prompt (llama-bench `-d`).
    #[arg(long, default_value_t = 0)]
    pub depth: u32,
    /// Sequences generated together (aggregate and per-sequence speed).
    #[arg(long, default_value_t = 1)]
    pub sequences: u32,
    /// Only this use case's verdict: chat, agent, summary, batch.
    #[arg(long = "use-case")]
    pub use_case: Option<String>,
    /// Measured power draw in watts, replacing the board power for energy per token.
    #[arg(long = "power-w")]
    pub power_w: Option<f64>,
    /// Disk read rate in GB/s for the load time (default: a PCIe 4.0 x4 NVMe link).
    #[arg(long = "disk-gbs")]
    pub disk_gbs: Option<f64>,
    /// A calibration profile from `headroom calibrate` for this device and runtime.
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Hardware id, or a comma list for several GPUs.
    #[arg(long)]
    pub hardware: String,
    #[arg(long)]
    pub gpus: Option<u32>,
    /// Device memory in GiB (a Mac's RAM, a CPU profile's RAM).
    #[arg(long)]
    pub memory: Option<f64>,
    /// System RAM in GiB (allows partial offload).
    #[arg(long)]
    pub ram: Option<f64>,
    #[arg(long)]
    pub runtime: Option<String>,
    /// llama.cpp's backend: cuda, vulkan, rocm, metal, sycl or cpu (default: what the device
    /// normally uses).
    #[arg(long)]
    pub backend: Option<String>,
    /// chat, agent, summary or batch.
    #[arg(long = "use-case", default_value = "chat")]
    pub use_case: String,
    /// Comma list of quantizations to try (default: Q3_K_M..F16); `--quant`, as `fit` spells it,
    /// is the same option.
    #[arg(long, visible_alias = "quant", short = 'q')]
    pub quants: Option<String>,
    /// Rank the models under this folder instead of the catalog: GGUF files (LM Studio),
    /// Ollama's `models/`, MLX and safetensors folders, the Hugging Face cache.
    #[arg(long = "models-dir", value_name = "DIR", conflicts_with = "quants")]
    pub models_dir: Option<PathBuf>,
    /// How many entries to show.
    #[arg(long, default_value_t = 25)]
    pub top: usize,
    /// A calibration profile from `headroom calibrate` for this device and runtime (its speed part).
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServerArg {
    /// llama-server for llama.cpp, vLLM's server, one at a time for MLX and transformers.
    Native,
    /// Ollama's queue and OLLAMA_NUM_PARALLEL over llama.cpp.
    Ollama,
    /// One request at a time.
    Serial,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The server in front of the runtime.
    #[arg(long, value_enum, default_value = "native")]
    pub server: ServerArg,
    /// Use the uncalibrated roofline (bytes over peak bandwidth, FLOPs over peak compute) for step
    /// times instead of the speed model fitted to measurements.
    #[arg(long)]
    pub roofline: bool,
    /// Mean arrival rate, requests per second (Poisson unless --burstiness is given).
    #[arg(long)]
    pub rate: Option<f64>,
    /// A closed loop of N users instead of an arrival rate: each sends its next request when its
    /// last one ends (after --think-time). With latency targets, the most users that meet them.
    #[arg(long, conflicts_with_all = ["rate", "trace", "burstiness"])]
    pub users: Option<u32>,
    /// A calibration profile from `headroom calibrate` for this device and runtime: its speed
    /// groups set the step times.
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// llama-batched-bench output of this model on this machine (its table, or `headroom import`
    /// records of it): step times fitted on its rows instead of the speed model (llama.cpp only).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["calibration", "roofline"])]
    pub batched_bench: Option<PathBuf>,
    /// Seconds each closed-loop user waits between an answer and its next request.
    #[arg(long, value_name = "SECS", requires = "users")]
    pub think_time: Option<f64>,
    /// Gamma inter-arrival shape, as vLLM's benchmark_serving --burstiness (below 1: burstier).
    #[arg(long)]
    pub burstiness: Option<f64>,
    /// A CSV trace with timestamp,prompt_tokens,output_tokens columns (seconds, tokens).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Prompt lengths: N, LO..HI, exp:MEAN or lognormal:MEDIAN:SIGMA.
    #[arg(long, default_value = "512")]
    pub prompt: String,
    /// Output lengths, as --prompt.
    #[arg(long, default_value = "256")]
    pub output: String,
    /// Draw prompt and output lengths from a CSV with prompt_tokens,output_tokens columns.
    #[arg(long, value_name = "FILE")]
    pub lengths_csv: Option<PathBuf>,
    /// Requests to simulate.
    #[arg(long, default_value_t = 2000)]
    pub requests: u32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Dense FP16 matrix throughput of the device, TFLOPS, where the catalog has none (Apple
    /// silicon, CPUs): it sets prefill times.
    #[arg(long)]
    pub tflops: Option<f64>,
    /// OLLAMA_MAX_QUEUE for --server ollama.
    #[arg(long, default_value_t = 512)]
    pub max_queue: u32,
    /// Target p95 time to first token, seconds: search the highest rate that meets it.
    #[arg(long, value_name = "SECS")]
    pub slo_ttft: Option<f64>,
    /// Target p95 time per output token, seconds.
    #[arg(long, value_name = "SECS")]
    pub slo_tpot: Option<f64>,
    /// Requests per second the fleet must serve within the targets: how many replicas.
    #[arg(long)]
    pub target_rate: Option<f64>,
    /// Write an SVG plot of latency against load to FILE.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum YesNo {
    Yes,
    No,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Claimed or seen generation speed, tokens/s.
    #[arg(long = "tok-s")]
    pub tok_s: Option<f64>,
    /// Claimed or seen prompt speed, tokens/s.
    #[arg(long = "prompt-tok-s")]
    pub prompt_tok_s: Option<f64>,
    /// Claimed or seen time to first token, seconds.
    #[arg(long)]
    pub ttft: Option<f64>,
    /// Accelerator memory in use, GiB (nvidia-smi's MiB / 1024, Task Manager's dedicated GPU memory).
    #[arg(long = "vram-gb")]
    pub vram_gb: Option<f64>,
    /// How much accelerator memory rose, GiB, when the context went from `--from-ctx` to `--ctx`.
    #[arg(long = "vram-rise-gb")]
    pub vram_rise_gb: Option<f64>,
    /// The context before the rise `--vram-rise-gb` reports.
    #[arg(long = "from-ctx")]
    pub from_ctx: Option<u32>,
    /// Claimed or seen load time, seconds.
    #[arg(long = "load-s")]
    pub load_s: Option<f64>,
    /// The claim that it runs at all (yes) or that it does not (no).
    #[arg(long, value_enum)]
    pub fits: Option<YesNo>,
    /// A pasted log or llama-bench output: its speed readings become claims.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// The log's format when it cannot be told from its first lines (see `headroom import`).
    #[arg(long = "log-format")]
    pub log_format: Option<String>,
    /// The prompt the rates were measured over, tokens.
    #[arg(long, default_value_t = 512)]
    pub prompt: u32,
    /// The tokens generated in the measurement.
    #[arg(long = "gen", default_value_t = 128)]
    pub gen: u32,
    /// Tokens already in the KV cache before the prompt.
    #[arg(long, default_value_t = 0)]
    pub depth: u32,
    /// Print JSON: `claims[]` with `quantity`, `claimed`, `verdict`, `bound`, `predicted`, `low`,
    /// `high`, `explanations[]` (`cause`, `setting`, `predicted`).
    #[arg(long)]
    pub json: bool,
}
