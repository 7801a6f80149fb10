//! Model load time from disk and energy per token.

use crate::hardware::{pcie_bandwidth, DeviceKind, DeviceSpec};
use crate::units::BytesPerSec;

/// Read rate assumed for the weight file when none is given: the link bound of a PCIe 4.0 x4 NVMe
/// drive (4 x 1.969 GB/s, PCI-SIG), an upper bound on what such a drive delivers.
pub fn default_disk_read() -> BytesPerSec {
    pcie_bandwidth(4, 4).unwrap_or(BytesPerSec(7.876e9))
}

/// Seconds to read `bytes` from disk and, for discrete GPUs, push `device_bytes` over PCIe; the
/// two overlap, so the slower one decides.
pub fn load_time(bytes: f64, device_bytes: f64, disk: BytesPerSec, devices: &[DeviceSpec]) -> f64 {
    let disk_s = if disk.0 > 0.0 {
        bytes / disk.0
    } else {
        f64::INFINITY
    };
    let link = devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Gpu)
        .filter_map(|d| d.host_link.map(|b| b.0))
        .fold(f64::INFINITY, f64::min);
    let link_s = if link.is_finite() && link > 0.0 {
        device_bytes / link
    } else {
        0.0
    };
    disk_s.max(link_s)
}

/// Joules per generated token: the power of the devices at work times the time per token.
/// `power_w` replaces the board power when a measurement is known.
pub fn joules_per_token(
    devices: &[DeviceSpec],
    seconds_per_token: f64,
    power_w: Option<f64>,
) -> Option<f64> {
    let watts = match power_w {
        Some(w) => w,
        None => devices
            .iter()
            .filter(|d| d.kind != DeviceKind::Cpu)
            .map(|d| d.board_power_w)
            .sum::<Option<f64>>()?,
    };
    (watts > 0.0 && seconds_per_token.is_finite()).then_some(watts * seconds_per_token)
}

/// What an energy figure without a measured draw assumes: each device at its published power
/// for the whole step (a Mac's is the whole machine's maximum wall power), so an upper bound.
pub fn assumption_note(devices: &[DeviceSpec]) -> String {
    let parts: Vec<String> = devices
        .iter()
        .filter(|d| d.kind != DeviceKind::Cpu)
        .filter_map(|d| d.board_power_w.map(|w| format!("{} {w:.0} W", d.name)))
        .collect();
    let mac = devices
        .iter()
        .any(|d| d.kind == DeviceKind::Unified && d.vendor == "apple");
    format!(
        "energy assumes {} drawn throughout{}; a measured draw (--power-w) replaces it",
        parts.join(" + "),
        if mac {
            " (Apple's maximum wall power of the whole Mac, an upper bound)"
        } else {
            " (board power, an upper bound: decode rarely draws all of it)"
        }
    )
}
