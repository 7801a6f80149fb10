//! Measurements: the record a run leaves, comparing records with predictions, and fitting corrections.

pub mod calibrate;
pub mod plot;
pub mod profile;
pub mod record;
pub mod regression;
pub mod validate;

pub use calibrate::{calibrate_memory, MemoryCalibration, MemoryCorrection};
pub use profile::{CalibrationProfile, PROFILE_SCHEMA};
pub use record::{
    CommandRun, CpuRun, DeviceInfo, DeviceSlot, GpuSummary, HostSummary, KvCapacity,
    MeasurementRecord, MemoryReading, Provenance, RunSettings, RunStatus, ServingReading,
    SourceKind, SpeedKind, SpeedReading, RECORD_SCHEMA,
};
pub use regression::{least_squares, leave_one_out, robust_least_squares, FitError, LinearFit};
pub use validate::{Observation, Quantity, QuantityError, ValidationReport};
