//! Measurement on the machine: NVML and the operating system (procfs, `ps`) sampled while a
//! command runs, and what the machine has free.
//!
//! The only crate that links `nvml-wrapper`. NVML is loaded at run time, so this builds and runs
//! where no NVIDIA driver is installed: then `measure` still runs the command and records that no
//! GPU readings were taken. Everything NVML-specific sits behind [`GpuReader`]; the sampler and its
//! summaries are tested against a fake reader and recorded traces.

pub mod atomic;
pub mod detect;
pub mod error;
pub mod host;
pub mod measure;
pub mod nvml_reader;
pub mod output;
pub mod reader;
pub mod replay;
pub mod sampler;

pub use detect::{detect, Detected};
pub use error::MeasureError;
pub use measure::{measure, MeasureOptions};
pub use reader::{FakeReader, GpuReader, GpuSample, ReadError};
pub use sampler::{Clock, SampleSummary, Sampler, SystemClock};
