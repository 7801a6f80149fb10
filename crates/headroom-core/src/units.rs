//! Units with meaning: byte counts, bandwidths, FLOP counts and durations as newtypes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul};

/// A number of bytes. Saturating arithmetic: a memory total never wraps.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Bytes(pub u64);

impl Bytes {
    pub const ZERO: Bytes = Bytes(0);
    pub const KIB: u64 = 1024;
    pub const MIB: u64 = 1024 * 1024;
    pub const GIB: u64 = 1024 * 1024 * 1024;

    pub fn from_mib(mib: f64) -> Bytes {
        Bytes((mib * Self::MIB as f64).round().max(0.0) as u64)
    }

    pub fn from_gib(gib: f64) -> Bytes {
        Bytes((gib * Self::GIB as f64).round().max(0.0) as u64)
    }

    pub fn as_mib(self) -> f64 {
        self.0 as f64 / Self::MIB as f64
    }

    pub fn as_gib(self) -> f64 {
        self.0 as f64 / Self::GIB as f64
    }

    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }

    pub fn saturating_sub(self, other: Bytes) -> Bytes {
        Bytes(self.0.saturating_sub(other.0))
    }

    /// Rounds up to a multiple of `align` (an `align` of 0 leaves the value alone).
    pub fn align_up(self, align: u64) -> Bytes {
        if align == 0 {
            return self;
        }
        Bytes(self.0.div_ceil(align).saturating_mul(align))
    }
}

impl Add for Bytes {
    type Output = Bytes;
    fn add(self, rhs: Bytes) -> Bytes {
        Bytes(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Bytes {
    fn add_assign(&mut self, rhs: Bytes) {
        *self = *self + rhs;
    }
}

impl Mul<u64> for Bytes {
    type Output = Bytes;
    fn mul(self, rhs: u64) -> Bytes {
        Bytes(self.0.saturating_mul(rhs))
    }
}

impl Sum for Bytes {
    fn sum<I: Iterator<Item = Bytes>>(iter: I) -> Bytes {
        iter.fold(Bytes::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Bytes {
    /// Binary units at fixed precision, so native and browser builds print the same text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0 as f64;
        if self.0 >= Self::GIB {
            write!(f, "{:.2} GiB", b / Self::GIB as f64)
        } else if self.0 >= Self::MIB {
            write!(f, "{:.1} MiB", b / Self::MIB as f64)
        } else if self.0 >= Self::KIB {
            write!(f, "{:.1} KiB", b / Self::KIB as f64)
        } else {
            write!(f, "{} B", self.0)
        }
    }
}

/// Bytes per second (decimal, as vendors state bandwidth: 1 GB/s = 1e9 B/s).
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BytesPerSec(pub f64);

impl BytesPerSec {
    pub fn from_gbs(gbs: f64) -> BytesPerSec {
        BytesPerSec(gbs * 1e9)
    }
    pub fn as_gbs(self) -> f64 {
        self.0 / 1e9
    }
}

/// Floating-point operations per second.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FlopsPerSec(pub f64);

impl FlopsPerSec {
    pub fn from_tflops(t: f64) -> FlopsPerSec {
        FlopsPerSec(t * 1e12)
    }
    pub fn as_tflops(self) -> f64 {
        self.0 / 1e12
    }
}

/// A count of floating-point operations.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Flops(pub f64);

/// A duration in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seconds(pub f64);

impl Add for Seconds {
    type Output = Seconds;
    fn add(self, rhs: Seconds) -> Seconds {
        Seconds(self.0 + rhs.0)
    }
}

/// Time to move `bytes` at `bw`; an absent bandwidth takes forever rather than dividing by zero.
pub fn transfer_time(bytes: Bytes, bw: BytesPerSec) -> Seconds {
    if bw.0 <= 0.0 {
        return Seconds(f64::INFINITY);
    }
    Seconds(bytes.0 as f64 / bw.0)
}

/// Time to do `work` at `rate`.
pub fn compute_time(work: Flops, rate: FlopsPerSec) -> Seconds {
    if rate.0 <= 0.0 {
        return Seconds(f64::INFINITY);
    }
    Seconds(work.0 / rate.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_display_is_fixed_precision() {
        assert_eq!(Bytes(1024 * 1024 * 1024 * 3 / 2).to_string(), "1.50 GiB");
        assert_eq!(Bytes(512).to_string(), "512 B");
        assert_eq!(Bytes::from_mib(4403.49).to_string(), "4.30 GiB");
    }

    #[test]
    fn bytes_saturate_instead_of_wrapping() {
        assert_eq!(Bytes(u64::MAX) + Bytes(1), Bytes(u64::MAX));
        assert_eq!(Bytes(1).saturating_sub(Bytes(2)), Bytes::ZERO);
    }

    #[test]
    fn align_up_rounds_to_multiple() {
        assert_eq!(Bytes(1).align_up(32), Bytes(32));
        assert_eq!(Bytes(64).align_up(32), Bytes(64));
    }
}
