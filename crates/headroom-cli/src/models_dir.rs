//! The models under a folder: GGUF files (LM Studio's `publisher/repo/*.gguf`), Ollama's
//! manifests and blobs, MLX and safetensors folders and Hugging Face cache snapshots
//! (`models--org--name/snapshots/HASH/`), found by a bounded walk and read by `model_file`.

use crate::model_file;
use anyhow::{anyhow, Context, Result};
use headroom_data::SuppliedModel;
use headroom_formats::ollama;
use std::path::{Path, PathBuf};

/// The deepest folder visited below the root (Ollama's manifests sit five below `models/`).
const MAX_DEPTH: usize = 12;
/// The most folder entries looked at in one walk.
const MAX_ENTRIES: usize = 100_000;

/// Where a model was found and how to read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Gguf(PathBuf),
    /// A folder holding a config.json (and maybe safetensors shards).
    Folder(PathBuf),
    /// An Ollama manifest and the blob its model layer names.
    Ollama {
        manifest: PathBuf,
        blob: PathBuf,
    },
}

impl Source {
    pub fn path(&self) -> &Path {
        match self {
            Source::Gguf(p) | Source::Folder(p) => p,
            Source::Ollama { blob, .. } => blob,
        }
    }
}

/// One model found: its name (the path under the root, `org/name` for a Hugging Face snapshot,
/// `NAME:TAG` for Ollama) and where it is.
#[derive(Clone, Debug)]
pub struct Found {
    pub name: String,
    pub source: Source,
}

/// What a walk found, and the entries it could not read, by path.
#[derive(Debug, Default)]
pub struct Scan {
    pub found: Vec<Found>,
    pub warnings: Vec<String>,
}

/// A model read from its header.
pub struct Loaded {
    pub name: String,
    pub path: PathBuf,
    pub model: SuppliedModel,
}

fn rel_name(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `org/name` when `dir` is `.../models--org--name/snapshots/HASH`.
fn hf_snapshot_name(dir: &Path) -> Option<String> {
    let snapshots = dir.parent()?;
    if snapshots.file_name()? != "snapshots" {
        return None;
    }
    let repo = snapshots.parent()?.file_name()?.to_str()?;
    let rest = repo.strip_prefix("models--")?;
    Some(rest.replacen("--", "/", 1))
}

/// Is this a file that holds a model? Projector and non-first split files are not models alone.
fn is_model_gguf(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".gguf") && !lower.starts_with("mmproj")
}

struct Walk<'a> {
    root: &'a Path,
    entries: usize,
    scan: Scan,
}

impl Walk<'_> {
    /// The folder's entries as (path, is folder), symlinked folders left out (no loops),
    /// symlinked files followed (the Hugging Face cache links snapshots to its blobs).
    fn list(&mut self, dir: &Path) -> Option<Vec<(PathBuf, bool)>> {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.scan
                    .warnings
                    .push(format!("{}: cannot list: {e}", dir.display()));
                return None;
            }
        };
        let mut out = Vec::new();
        for e in rd {
            self.entries += 1;
            if self.entries > MAX_ENTRIES {
                self.scan.warnings.push(format!(
                    "{}: stopped after {MAX_ENTRIES} entries",
                    self.root.display()
                ));
                return Some(out);
            }
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    self.scan
                        .warnings
                        .push(format!("{}: cannot list: {err}", dir.display()));
                    continue;
                }
            };
            let p = e.path();
            let ft = match e.file_type() {
                Ok(ft) => ft,
                Err(err) => {
                    self.scan.warnings.push(format!("{}: {err}", p.display()));
                    continue;
                }
            };
            if ft.is_symlink() {
                match std::fs::metadata(&p) {
                    Ok(m) if m.is_file() => out.push((p, false)),
                    Ok(_) => {} // a linked folder: not followed
                    Err(err) => self
                        .scan
                        .warnings
                        .push(format!("{}: broken link: {err}", p.display())),
                }
            } else {
                out.push((p, ft.is_dir()));
            }
        }
        out.sort();
        Some(out)
    }

    fn visit(&mut self, dir: &Path, depth: usize) {
        if depth > MAX_DEPTH {
            self.scan.warnings.push(format!(
                "{}: deeper than {MAX_DEPTH} folders, not read",
                dir.display()
            ));
            return;
        }
        let Some(entries) = self.list(dir) else {
            return;
        };
        let has = |n: &str| {
            entries
                .iter()
                .any(|(p, _)| p.file_name().is_some_and(|f| f == n))
        };
        let is_dir = |n: &str| {
            entries
                .iter()
                .any(|(p, d)| *d && p.file_name().is_some_and(|f| f == n))
        };
        if is_dir("manifests") && is_dir("blobs") {
            self.ollama(dir);
            return;
        }
        if has("config.json") {
            let name = hf_snapshot_name(dir).unwrap_or_else(|| rel_name(self.root, dir));
            self.scan.found.push(Found {
                name,
                source: Source::Folder(dir.to_path_buf()),
            });
            return;
        }
        for (p, d) in entries {
            if d {
                self.visit(&p, depth + 1);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_model_gguf)
            {
                let name = match hf_snapshot_name(p.parent().unwrap_or(dir)) {
                    Some(repo) => format!(
                        "{repo}/{}",
                        p.file_name().unwrap_or_default().to_string_lossy()
                    ),
                    None => rel_name(self.root, &p),
                };
                self.scan.found.push(Found {
                    name,
                    source: Source::Gguf(p),
                });
            }
        }
    }

    /// Ollama's `manifests/REGISTRY/NAMESPACE/NAME/TAG` files, each naming a blob.
    fn ollama(&mut self, models: &Path) {
        let blobs = models.join("blobs");
        let mut stack = vec![(models.join("manifests"), Vec::<String>::new())];
        while let Some((dir, parts)) = stack.pop() {
            let Some(entries) = self.list(&dir) else {
                continue;
            };
            for (p, d) in entries.into_iter().rev() {
                let mut parts = parts.clone();
                parts.push(p.file_name().unwrap_or_default().to_string_lossy().into());
                match (d, parts.len()) {
                    (true, n) if n < 4 => stack.push((p, parts)),
                    (false, 4) => match read_manifest(&p) {
                        Ok(hex) => self.scan.found.push(Found {
                            name: ollama::model_name(&parts[0], &parts[1], &parts[2], &parts[3]),
                            source: Source::Ollama {
                                manifest: p,
                                blob: blobs.join(ollama::blob_file_name(&hex)),
                            },
                        }),
                        Err(e) => self.scan.warnings.push(format!("{e:#}")),
                    },
                    _ => {} // not where Ollama keeps manifests
                }
            }
        }
    }
}

fn read_manifest(p: &Path) -> Result<String> {
    let bytes = model_file::read_prefix(p, ollama::MAX_MANIFEST_BYTES as u64 + 1)?;
    ollama::model_digest(&bytes).with_context(|| format!("in {}", p.display()))
}

/// Every model under `root`, in path order; what could not be read is a warning.
pub fn scan(root: &Path) -> Result<Scan> {
    if !root.is_dir() {
        return Err(anyhow!("{} is not a folder", root.display()));
    }
    let mut w = Walk {
        root,
        entries: 0,
        scan: Scan::default(),
    };
    w.visit(root, 0);
    Ok(w.scan)
}

/// Reads the headers of every model found; a model that does not read is a warning.
pub fn load_all(root: &Path) -> Result<(Vec<Loaded>, Vec<String>)> {
    let Scan {
        found,
        mut warnings,
    } = scan(root)?;
    let mut out = Vec::new();
    for f in found {
        let r = match &f.source {
            Source::Gguf(p) | Source::Ollama { blob: p, .. } => model_file::load_gguf(p),
            Source::Folder(p) => model_file::load(p),
        };
        match r {
            Ok(model) => out.push(Loaded {
                name: f.name,
                path: f.source.path().to_path_buf(),
                model,
            }),
            Err(e) => warnings.push(format!("{}: {e:#}", f.name)),
        }
    }
    Ok((out, warnings))
}
