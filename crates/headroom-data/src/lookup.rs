//! Finding a model or device by what a person types, with "did you mean" when nothing matches.

use crate::{names, Catalog, DataError, HardwareEntry, ModelEntry};
use headroom_core::quant::Quant;
use headroom_core::units::Bytes;
use headroom_core::DeviceSpec;
use std::collections::HashMap;

/// Nothing matched; `suggestions` are the closest names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupError {
    pub kind: &'static str,
    pub query: String,
    pub suggestions: Vec<String>,
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} `{}`", self.kind, self.query)?;
        if !self.suggestions.is_empty() {
            write!(f, "; did you mean {}?", self.suggestions.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for LookupError {}

fn norm(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

fn model_names(m: &ModelEntry) -> Vec<String> {
    let mut v = vec![norm(&m.record.id), norm(&m.record.hf_repo)];
    if let Some((_, repo)) = m.record.hf_repo.split_once('/') {
        v.push(norm(repo));
    }
    v.extend(m.record.aliases.iter().map(|a| norm(a)));
    v
}

fn hardware_names(h: &HardwareEntry) -> Vec<String> {
    let mut v = vec![norm(&h.record.id), norm(&h.record.name)];
    v.extend(h.record.aliases.iter().map(|a| norm(a)));
    v
}

/// Edit distance, for suggestions; inputs are short names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest<'a>(query: &str, candidates: impl Iterator<Item = (String, &'a str)>) -> Vec<String> {
    let q = norm(query);
    let mut scored: Vec<(usize, &str)> = candidates
        .map(|(name, id)| {
            let d = distance(&q, &name);
            let d = if name.contains(&q) || q.contains(&name) {
                d.min(2)
            } else {
                d
            };
            (d, id)
        })
        .collect();
    scored.sort();
    let mut out: Vec<String> = Vec::new();
    for (d, id) in scored {
        if d > q.len().max(4) / 2 + 2 || out.len() == 3 {
            break;
        }
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

/// A catalog model found for a name, with what the name itself says about the weights.
#[derive(Clone, Debug)]
pub struct ModelMatch<'a> {
    pub entry: &'a ModelEntry,
    /// The weight format the name states (`-AWQ`, `-4bit`, `:8b-q4_K_M`, `-Q4_K_M.gguf`).
    pub quant: Option<Quant>,
    /// The runtime the name implies (`-GGUF`: llama.cpp; `mlx-community/`: mlx; `-AWQ`: vllm).
    pub runtime: Option<&'static str>,
    /// What was read into the name, for the answer's warnings; empty for an exact catalog name.
    pub notes: Vec<String>,
}

/// A catalog device found for a name, with the choices an ambiguous name needed.
#[derive(Clone, Debug)]
pub struct HardwareMatch {
    pub spec: DeviceSpec,
    /// Which of several devices the name was taken as, and the alternatives.
    pub choice_note: Option<String>,
    /// The memory size taken when the name gives none and the device comes in several.
    pub memory_note: Option<String>,
}

/// Names longer than this are not names.
const MAX_NAME: usize = 256;

fn unknown_model(cat: &Catalog, query: &str) -> LookupError {
    let cands = cat.models.iter().flat_map(|m| {
        model_names(m)
            .into_iter()
            .map(move |n| (n, m.record.id.as_str()))
    });
    LookupError {
        kind: "model",
        query: query.to_string(),
        suggestions: suggest(query, cands),
    }
}

/// Letters and digits only: `llama3-70b`, `llama-3-70b` and `Llama 3 70B` all read `llama370b`.
fn compact(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The stems a model answers to: its repo name without variant words, with and without `meta-`.
fn model_stems(m: &ModelEntry) -> Vec<String> {
    let repo = norm(&m.record.hf_repo);
    let base = repo.rsplit('/').next().unwrap_or(&repo);
    let stem = names::read_repo_name(base, false).stem;
    let mut v = vec![stem.clone(), norm(&m.record.id)];
    if let Some(s) = stem.strip_prefix("meta-") {
        v.push(s.to_string());
    }
    v
}

pub(crate) fn find_model<'a>(cat: &'a Catalog, query: &str) -> Result<ModelMatch<'a>, LookupError> {
    let q = norm(query);
    if q.is_empty() || q.len() > MAX_NAME {
        return Err(unknown_model(cat, query));
    }
    let exact = |name: &str| {
        cat.models
            .iter()
            .find(|m| model_names(m).iter().any(|n| n == name))
    };
    if let Some(entry) = exact(&q) {
        return Ok(ModelMatch {
            entry,
            quant: None,
            // an Ollama `name:tag` alias is run by Ollama
            runtime: (q.contains(':') && !q.contains('/')).then_some("ollama"),
            notes: Vec::new(),
        });
    }
    let read = names::read(&q);
    let by_stem = |stem: &str| -> Option<&'a ModelEntry> {
        if let Some(m) = exact(stem) {
            return Some(m);
        }
        let stem = stem.strip_prefix("meta-").unwrap_or(stem);
        let found: Vec<&ModelEntry> = cat
            .models
            .iter()
            .filter(|m| model_stems(m).iter().any(|s| s == stem))
            .collect();
        if found.len() == 1 {
            return Some(found[0]);
        }
        let c = compact(stem);
        let found: Vec<&ModelEntry> = cat
            .models
            .iter()
            .filter(|m| {
                model_stems(m)
                    .iter()
                    .chain(model_names(m).iter())
                    .any(|s| compact(s) == c)
            })
            .collect();
        (found.len() == 1).then(|| found[0])
    };
    let Some(entry) = read.stems.iter().find_map(|s| by_stem(s)) else {
        return Err(unknown_model(cat, query));
    };
    let mut note = format!(
        "`{query}` is read as {} (the config of {})",
        entry.record.name, entry.record.hf_repo
    );
    match (read.quant, read.runtime) {
        (Some(qt), Some(rt)) => note.push_str(&format!(" with {} weights on {rt}", qt.label())),
        (Some(qt), None) => note.push_str(&format!(" with {} weights", qt.label())),
        (None, Some(rt)) => note.push_str(&format!(" on {rt}")),
        (None, None) => {}
    }
    if read.variant {
        note.push_str("; its variants share these shapes");
    }
    Ok(ModelMatch {
        entry,
        quant: read.quant,
        runtime: read.runtime,
        notes: vec![note],
    })
}

/// A device name as compared: lower case, words joined by `-`, a Mac's product name dropped.
fn hnorm(s: &str) -> String {
    let mut out = String::new();
    for part in s
        .trim()
        .to_ascii_lowercase()
        .split([' ', '_', '-', ':', '@'])
        .filter(|p| !p.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(part);
    }
    for prefix in [
        "apple-",
        "mac-mini-",
        "mac-studio-",
        "macbook-pro-",
        "macbook-air-",
        "mac-pro-",
        "imac-",
    ] {
        if let Some(rest) = out.strip_prefix(prefix) {
            if rest.starts_with('m') {
                out = rest.strip_prefix("apple-").unwrap_or(rest).to_string();
            }
        }
    }
    // the maker's and the line's names before a model number: `nvidia geforce rtx 4090`,
    // `radeon rx 7900 xtx`, `tesla t4` (no catalog id starts with one)
    while let Some(rest) = ["nvidia-", "geforce-", "tesla-", "amd-", "radeon-", "intel-"]
        .iter()
        .find_map(|p| out.strip_prefix(p))
        .filter(|r| !r.is_empty())
    {
        out = rest.to_string();
    }
    out
}

fn hardware_hnames(h: &HardwareEntry) -> Vec<String> {
    hardware_names(h).iter().map(|n| hnorm(n)).collect()
}

/// Words that name a bin or board of one chip: `sxm`, `pcie`, `40gb`, `40c`.
fn is_variant_word(w: &str) -> bool {
    let num_then = |suffix: &str| {
        w.strip_suffix(suffix)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    matches!(w, "sxm" | "sxm4" | "sxm5" | "pcie") || num_then("gb") || num_then("c")
}

/// An id without its trailing bin or board words: `rtx-4060-ti-8gb` → `rtx-4060-ti`.
fn base_id(id: &str) -> &str {
    let mut base = id;
    while let Some((head, last)) = base.rsplit_once('-') {
        if !is_variant_word(last) {
            break;
        }
        base = head;
    }
    base
}

/// Whether the words of a normalised name state a bin or board word: `8gb` in `4060-ti-8-gb` or
/// `4060-ti-8gb`, `30c` in `m3-max-30-core`, `pcie` in `h100-pcie`.
fn says_variant(q: &str, variant: &str) -> bool {
    let num = variant.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    q.split('-').any(|w| {
        if num.is_empty() {
            w.starts_with(variant)
        } else {
            w.strip_prefix(num)
                .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_alphabetic()))
        }
    })
}

/// Devices a name could mean: the one it names and every device whose id is the name plus bin or
/// board words (`h100` → h100-sxm, h100-pcie; `m4-max` → m4-max-32c, m4-max-40c).
fn family<'a>(cat: &'a Catalog, name: &str) -> (Option<&'a HardwareEntry>, Vec<&'a HardwareEntry>) {
    let named = cat
        .hardware
        .iter()
        .find(|h| hardware_hnames(h).iter().any(|n| n == name));
    let mut group: Vec<&HardwareEntry> = cat
        .hardware
        .iter()
        .filter(|h| {
            h.record
                .id
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|r| r.split('-').all(is_variant_word))
        })
        .collect();
    if let Some(n) = named {
        if !group.iter().any(|g| g.record.id == n.record.id) {
            group.insert(0, n);
        }
    }
    (named, group)
}

fn memory_list(h: &HardwareEntry) -> Vec<f64> {
    match (&h.record.memory_options_gib, h.record.memory_gib) {
        (Some(o), _) => o.clone(),
        (None, Some(m)) => vec![m],
        (None, None) => Vec::new(),
    }
}

fn gib_text(x: f64) -> String {
    format!("{x}")
}

fn describe(h: &HardwareEntry) -> String {
    let mut d = format!("{} ({}", h.record.id, h.record.name);
    if let Some(c) = h.record.gpu_cores {
        d.push_str(&format!(", {c}-core GPU"));
    }
    d.push_str(&format!(", {} GB/s", h.record.bandwidth_gbs));
    let mem = memory_list(h);
    if !mem.is_empty() {
        let m: Vec<String> = mem.iter().map(|&x| gib_text(x)).collect();
        d.push_str(&format!(", {} GB", m.join("/")));
    }
    d.push(')');
    d
}

/// The top bin first: more GPU cores, then more bandwidth.
fn rank(a: &HardwareEntry, b: &HardwareEntry) -> std::cmp::Ordering {
    (b.record.gpu_cores.unwrap_or(0), b.record.bandwidth_gbs)
        .partial_cmp(&(a.record.gpu_cores.unwrap_or(0), a.record.bandwidth_gbs))
        .unwrap_or(std::cmp::Ordering::Equal)
}

fn unknown_hardware(cat: &Catalog, query: &str) -> LookupError {
    let cands = cat.hardware.iter().flat_map(|h| {
        hardware_names(h)
            .into_iter()
            .map(move |n| (n, h.record.id.as_str()))
    });
    LookupError {
        kind: "hardware",
        query: query.to_string(),
        suggestions: suggest(query, cands),
    }
}

/// `m4-max-128gb`, `mac mini m4 pro 64gb`: the name and the memory size it ends with.
fn split_memory(name: &str) -> Option<(&str, f64)> {
    let base = name.strip_suffix("gb")?;
    let (head, size) = match base.rsplit_once('-') {
        Some((h, s)) => (h, s),
        None => return None,
    };
    let gib = size.parse::<f64>().ok()?;
    (gib.is_finite() && gib > 0.0).then_some((head, gib))
}

pub(crate) fn find_hardware(cat: &Catalog, query: &str) -> Result<HardwareMatch, LookupError> {
    let q = hnorm(query);
    if q.is_empty() || q.len() > MAX_NAME {
        return Err(unknown_hardware(cat, query));
    }
    // A full name first (`a100-40gb`, `rtx-4060-ti-16gb` end in a size that is part of the name).
    let (named, mut group) = family(cat, &q);
    if let Some(n) = named {
        // an alias without bin or board words (`4060 ti` for rtx-4060-ti-8gb) still has siblings
        let base = base_id(&n.record.id);
        let said = n.record.id[base.len()..]
            .split('-')
            .filter(|w| !w.is_empty())
            .any(|v| says_variant(&q, v))
            || q.split('-').any(is_variant_word);
        if group.len() == 1 && base != n.record.id && !said {
            let (_, siblings) = family(cat, base);
            if siblings.len() > 1 {
                group = siblings;
            }
        }
    }
    if !group.is_empty() {
        return Ok(choose(query, named, group, None));
    }
    let Some((name, gib)) = split_memory(&q) else {
        return Err(unknown_hardware(cat, query));
    };
    let (named, group) = family(cat, name);
    if group.is_empty() {
        return Err(unknown_hardware(cat, query));
    }
    let with: Vec<&HardwareEntry> = group
        .iter()
        .copied()
        .filter(|h| {
            let m = memory_list(h);
            m.is_empty() || m.contains(&gib)
        })
        .collect();
    if with.is_empty() {
        let suggestions = group
            .iter()
            .flat_map(|h| {
                memory_list(h)
                    .into_iter()
                    .map(move |o| format!("{}-{}gb", h.record.id, gib_text(o)))
            })
            .collect();
        return Err(LookupError {
            kind: "memory option",
            query: query.to_string(),
            suggestions,
        });
    }
    let named = named.filter(|n| with.iter().any(|w| w.record.id == n.record.id));
    Ok(choose(query, named, with, Some(gib)))
}

/// The device a name is taken as: the one it names, else the top bin; a note when others remain.
fn choose(
    query: &str,
    named: Option<&HardwareEntry>,
    mut group: Vec<&HardwareEntry>,
    gib: Option<f64>,
) -> HardwareMatch {
    group.sort_by(|a, b| rank(a, b));
    let chosen = named.unwrap_or(group[0]);
    let others: Vec<String> = group
        .iter()
        .filter(|h| h.record.id != chosen.record.id)
        .map(|h| describe(h))
        .collect();
    let choice_note = (!others.is_empty()).then(|| {
        format!(
            "`{}` is taken as {}; it could also mean {}: name one to choose",
            query.trim(),
            describe(chosen),
            others.join(", ")
        )
    });
    let spec = match gib {
        Some(g) => chosen.spec.with_memory(Bytes::from_gib(g)),
        None => chosen.spec.clone(),
    };
    let options = chosen.record.memory_options_gib.clone().unwrap_or_default();
    let memory_note = match (gib, chosen.record.memory_gib) {
        (None, Some(m)) if options.len() > 1 => {
            let rest: Vec<String> = options
                .iter()
                .filter(|&&o| o != m)
                .map(|&o| format!("{}-{}gb", chosen.record.id, gib_text(o)))
                .collect();
            Some(format!(
                "`{}` is taken with {} GB of memory; it also comes as {} (or give --memory)",
                query.trim(),
                gib_text(m),
                rest.join(", ")
            ))
        }
        _ => None,
    };
    HardwareMatch {
        spec,
        choice_note,
        memory_note,
    }
}

/// No two entries may answer to the same name.
pub(crate) fn check_unique(cat: &Catalog) -> Result<(), DataError> {
    let mut seen: HashMap<String, String> = HashMap::new();
    for m in &cat.models {
        for n in model_names(m) {
            if let Some(prev) = seen.insert(n.clone(), m.record.id.clone()) {
                if prev != m.record.id {
                    return Err(DataError {
                        file: format!("models/{}.json", m.record.id),
                        problem: format!("name `{n}` is also used by {prev}"),
                    });
                }
            }
        }
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    for h in &cat.hardware {
        for n in hardware_hnames(h) {
            if let Some(prev) = seen.insert(n.clone(), h.record.id.clone()) {
                if prev != h.record.id {
                    return Err(DataError {
                        file: format!("hardware/{}.json", h.record.id),
                        problem: format!("name `{n}` is also used by {prev}"),
                    });
                }
            }
        }
    }
    Ok(())
}
