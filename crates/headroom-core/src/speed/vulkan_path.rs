//! The matrix-multiply path llama.cpp's Vulkan backend takes on a device family, and the rate a prompt's matmuls are measured against on it.
//!
//! ggml-vulkan picks one of three prompt-matmul paths per device (`matrix cores:` in its device
//! line: `NV_coopmat2`, `KHR_coopmat` or `none`), and `ggml_vk_khr_cooperative_matrix_support`
//! gates the KHR path by vendor: Intel only on Xe2, AMD's own drivers only on RDNA3 (Mesa's RADV,
//! which exposes the extension on RDNA3 and newer, on any GPU), every other vendor as the driver
//! reports (ggml-org/llama.cpp `ggml/src/ggml-vulkan/ggml-vulkan.cpp`). The tensor-core paths run
//! at a share of the published FP16 matrix rate; the shaders without matrix cores at a share of
//! the FP32 rate. The speed fit keeps one efficiency per path ([`VulkanMatmul::label`] names its
//! parameter group), so a device whose own family was never measured borrows from the devices
//! that run the same kernels.

use crate::hardware::DeviceSpec;

/// The prompt-matmul kernels of llama.cpp's Vulkan backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VulkanMatmul {
    /// `VK_NV_cooperative_matrix2`: NVIDIA GPUs with tensor cores on recent drivers.
    Coopmat2,
    /// `VK_KHR_cooperative_matrix`: AMD RDNA3 and newer (WMMA).
    Coopmat,
    /// No matrix cores: the FP32 shaders.
    Scalar,
}

/// The prefix that marks a parameter group keyed by a Vulkan path in the family slot.
const PREFIX: &str = "vulkan-matmul:";

impl VulkanMatmul {
    /// The path a device family takes. Intel Xe2 (Battlemage) is allowed the KHR path upstream,
    /// but the catalog has no published XMX rate for it, so its prompt is measured against the FP32
    /// rate and it is grouped with the shaders without matrix cores; so is any family not named.
    pub fn of_family(family: &str) -> VulkanMatmul {
        match family {
            "turing" | "ampere" | "ada" | "hopper" | "blackwell" | "grace-blackwell" | "orin" => {
                VulkanMatmul::Coopmat2
            }
            "rdna3" | "rdna3.5" | "rdna4" => VulkanMatmul::Coopmat,
            _ => VulkanMatmul::Scalar,
        }
    }

    /// The name of the path's parameter group (held in a key's family slot).
    pub fn label(self) -> &'static str {
        match self {
            VulkanMatmul::Coopmat2 => "vulkan-matmul:coopmat2",
            VulkanMatmul::Coopmat => "vulkan-matmul:coopmat",
            VulkanMatmul::Scalar => "vulkan-matmul:scalar",
        }
    }

    /// Whether a key's family slot names a path rather than a device family.
    pub fn is_label(family: &str) -> bool {
        family.starts_with(PREFIX)
    }

    /// The rate the path's matmuls are measured against: the published FP16 matrix rate for the
    /// cooperative-matrix paths, the FP32 rate for the scalar shaders (each falling back to the
    /// other where only one is published).
    pub fn reference_rate(self, d: &DeviceSpec) -> Option<f64> {
        let r = match self {
            VulkanMatmul::Coopmat2 | VulkanMatmul::Coopmat => d.fp16.or(d.fp32),
            VulkanMatmul::Scalar => d.fp32.or(d.fp16),
        };
        r.map(|r| r.0).filter(|r| *r > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_take_the_paths_ggml_vulkan_gates() {
        // NVIDIA tensor-core families: coopmat2; AMD RDNA3+: KHR coopmat; Intel Alchemist is
        // refused the KHR path upstream ("older hardware (ex. Arc A770) has performance
        // regressions"), so it runs the scalar shaders
        assert_eq!(VulkanMatmul::of_family("ada"), VulkanMatmul::Coopmat2);
        assert_eq!(VulkanMatmul::of_family("rdna3.5"), VulkanMatmul::Coopmat);
        assert_eq!(VulkanMatmul::of_family("alchemist"), VulkanMatmul::Scalar);
        assert!(VulkanMatmul::is_label(VulkanMatmul::Coopmat.label()));
        assert!(!VulkanMatmul::is_label("rdna3"));
    }
}
