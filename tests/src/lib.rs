//! Shared fixtures for the integration tests in tests/tests/ and the examples in tests/examples/.

pub mod cpu_report;
pub mod current_fixture;
pub mod peak_alloc;
pub mod simulator_validation;
pub mod speed_fixture;
pub mod speed_report;
