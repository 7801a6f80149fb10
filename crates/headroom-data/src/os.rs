//! The operating system a run is on: the VRAM Windows and WSL2 keep from CUDA (`data/os/windows.json`).

use crate::DataError;
use headroom_core::check::Os;
use headroom_core::units::Bytes;
use serde::Deserialize;

const WINDOWS: &str = include_str!("../../../data/os/windows.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[allow(dead_code)]
    about: String,
    readings: Vec<Reading>,
    #[allow(dead_code)]
    sysmem_fallback: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reading {
    os: String,
    display: bool,
    #[allow(dead_code)]
    gpu: String,
    reserve_gib: f64,
    #[allow(dead_code)]
    reading: String,
    source: String,
    quote: String,
}

fn readings() -> Result<Vec<Reading>, DataError> {
    let err = |problem: String| DataError {
        file: "os/windows.json".into(),
        problem,
    };
    let f: File = serde_json::from_str(WINDOWS).map_err(|e| err(e.to_string()))?;
    for r in &f.readings {
        if Os::parse(&r.os).is_none() {
            return Err(err(format!("unknown os `{}`", r.os)));
        }
        if !(r.reserve_gib.is_finite() && (0.0..=16.0).contains(&r.reserve_gib)) {
            return Err(err(format!("reserve_gib {} outside 0..=16", r.reserve_gib)));
        }
        if !r.source.starts_with("https://") || r.quote.is_empty() {
            return Err(err(format!(
                "reading of {} without a source URL and quote",
                r.gpu
            )));
        }
    }
    Ok(f.readings)
}

/// The VRAM the OS keeps from CUDA on the first GPU, and where the figure comes from: the
/// largest public reading for that OS (on Windows only for a GPU that drives a display; WSL2
/// readings show the share with the display on another GPU too). `None` when nothing is kept.
pub fn reserve(os: Os, display_gpu: bool) -> Result<Option<(Bytes, String)>, DataError> {
    if !os.has_sysmem_fallback() {
        return Ok(None);
    }
    let all = readings()?;
    let best = all
        .iter()
        .filter(|r| Os::parse(&r.os) == Some(os))
        .filter(|r| os == Os::Wsl2 || r.display == display_gpu)
        .max_by(|a, b| a.reserve_gib.total_cmp(&b.reserve_gib));
    Ok(best.map(|r| {
        (
            Bytes::from_gib(r.reserve_gib),
            format!(
                "{:.2} GiB of the first GPU kept by {} ({}: \"{}\")",
                r.reserve_gib,
                match os {
                    Os::Wsl2 => "Windows under WSL2",
                    _ => "the Windows desktop",
                },
                r.source,
                r.quote
            ),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_reading_of_each_kind_is_taken() {
        // data/os/windows.json: Windows with a display 0.28 GiB (ollama#8723); WSL2 1.1 GiB
        // (ollama#7996) over 1.0 GiB (ollama#5988), with or without a display.
        let gib = |b: Bytes| b.0 as f64 / Bytes::GIB as f64;
        let (w, _) = reserve(Os::Windows, true).unwrap().unwrap();
        assert!((gib(w) - 0.28).abs() < 1e-6);
        assert!(reserve(Os::Windows, false).unwrap().is_none());
        let (l, why) = reserve(Os::Wsl2, false).unwrap().unwrap();
        assert!((gib(l) - 1.1).abs() < 1e-6);
        assert!(why.contains("issues/7996"));
        assert!(reserve(Os::Linux, true).unwrap().is_none());
    }
}
