//! Headroom's core: the memory and speed of running an LLM on given hardware, from first principles.
//!
//! Pure: no files, clocks, environment or threads. Inputs are validated types; the answers
//! ("does not fit", "beyond the trained context") are values, not errors.
#![deny(clippy::disallowed_methods)]

pub mod check;
pub mod hardware;
pub mod measure;
pub mod memory;
pub mod model;
pub mod placement;
pub mod plan;
pub mod quant;
pub mod simulate;
pub mod speed;
pub mod tensors;
pub mod units;

pub use hardware::{Backend, DeviceKind, DeviceSpec};
pub use model::{Arch, ModelSpec};
pub use plan::{fit, max_context, FitReport, Runtime, Scenario};
pub use quant::{GgmlType, GgufMix, Quant};
pub use units::{Bytes, BytesPerSec, Flops, FlopsPerSec, Seconds};
