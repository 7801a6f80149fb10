//! `headroom import FILE...`: what runtimes printed (llama-bench, llama.cpp, vLLM, mlx-lm, Ollama,
//! the validation CSVs) as measurement records, one JSON line each. Files are read in chunks and
//! records written as they finish, so a log of any size imports in bounded memory.

use anyhow::{bail, Context, Result};
use clap::Args;
use headroom_core::measure::MeasurementRecord;
use headroom_formats::import::{detect, ImportFormat, Importer, LineSplitter, MAX_LINE_BYTES};
use headroom_formats::FormatError;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub files: Vec<PathBuf>,
    /// llama-bench-json, llama-bench-jsonl, llama-bench-csv, llama-bench-md, llama-batched-bench,
    /// llama-cpp-log, vllm-log, mlx-lm, ollama-verbose, validation-csv, runtime-output; guessed
    /// when left out.
    #[arg(long)]
    pub format: Option<String>,
    /// Write the records here (atomically) instead of to standard output.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

/// The format of a file: given, or guessed from its first 64 KiB.
pub fn format_of(path: &Path, given: Option<&str>) -> Result<ImportFormat> {
    if let Some(g) = given {
        return ImportFormat::from_name(g).with_context(|| format!("unknown format `{g}`"));
    }
    let mut head = vec![0u8; 64 * 1024];
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let n = f.read(&mut head)?;
    Ok(detect(&String::from_utf8_lossy(&head[..n])))
}

/// Streams one file through an importer; `each` gets every record as it finishes.
pub fn import_file(
    path: &Path,
    format: ImportFormat,
    each: &mut dyn FnMut(MeasurementRecord) -> Result<()>,
) -> Result<()> {
    let origin = path.display().to_string();
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open {origin}"))?;
    let mut imp = Importer::new(format, &origin);
    let mut split = LineSplitter::new(MAX_LINE_BYTES);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {origin}"))?;
        if n == 0 {
            break;
        }
        split
            .push::<FormatError>(&buf[..n], &mut |l| imp.feed(l))
            .with_context(|| origin.clone())?;
        for r in imp.take_records() {
            each(r)?;
        }
    }
    split
        .finish::<FormatError>(&mut |l| imp.feed(l))
        .with_context(|| origin.clone())?;
    for r in imp.finish().with_context(|| origin.clone())? {
        each(r)?;
    }
    Ok(())
}

/// Reads records from files: JSON lines of records as they are, anything else through an importer.
pub fn read_records(files: &[PathBuf], format: Option<&str>) -> Result<Vec<MeasurementRecord>> {
    let mut out = Vec::new();
    for p in files {
        let is_records = p.extension().is_some_and(|e| e == "jsonl") && format.is_none() && {
            let mut head = String::new();
            let mut f =
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            let mut b = vec![0u8; 64 * 1024];
            let n = f.read(&mut b)?;
            head.push_str(&String::from_utf8_lossy(&b[..n]));
            head.lines()
                .next()
                .is_some_and(|l| serde_json::from_str::<MeasurementRecord>(l).is_ok())
        };
        if is_records {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            for (i, l) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let r: MeasurementRecord = serde_json::from_str(l).with_context(|| {
                    format!("{} line {}: not a measurement record", p.display(), i + 1)
                })?;
                out.push(r);
            }
        } else {
            let f = format_of(p, format)?;
            import_file(p, f, &mut |r| {
                out.push(r);
                Ok(())
            })?;
        }
    }
    Ok(out)
}

pub fn run(a: &ImportArgs) -> Result<String> {
    if a.files.is_empty() {
        bail!("no input files");
    }
    let mut count = 0usize;
    match &a.out {
        Some(path) => {
            // Streamed into a temporary file beside the target, renamed over it at the end.
            let mut failure: Option<anyhow::Error> = None;
            headroom_nvml::atomic::write_atomic_with(path, &mut |w| {
                for p in &a.files {
                    let run = format_of(p, a.format.as_deref()).and_then(|f| {
                        import_file(p, f, &mut |r| {
                            serde_json::to_writer(&mut *w, &r)?;
                            w.write_all(b"\n")?;
                            count += 1;
                            Ok(())
                        })
                    });
                    if let Err(e) = run {
                        failure = Some(e);
                        return Err(std::io::Error::other("import failed"));
                    }
                }
                Ok(())
            })
            .map_err(|e| failure.take().unwrap_or_else(|| e.into()))?;
            Ok(format!("{count} record(s) written to {}\n", path.display()))
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            for p in &a.files {
                let f = format_of(p, a.format.as_deref())?;
                import_file(p, f, &mut |r| {
                    serde_json::to_writer(&mut w, &r)?;
                    w.write_all(b"\n")?;
                    count += 1;
                    Ok(())
                })?;
            }
            w.flush()?;
            eprintln!("headroom: {count} record(s)");
            Ok(String::new())
        }
    }
}
