//! Importers: what runtimes already print, turned into measurement records.
//!
//! Every importer reads its input one line at a time and keeps only the record it is building, so a
//! log of any size imports in bounded memory: lines longer than [`MAX_LINE_BYTES`] are cut, a JSON
//! object longer than [`MAX_JSON_OBJECT_BYTES`] is an error, and finished records can be drained as
//! they appear ([`Importer::take_records`]). [`LineSplitter`] turns byte chunks into such lines.

mod csv_line;
pub mod llama_batched_bench;
pub mod llama_bench;
pub mod llama_cpp_log;
pub mod mlx_lm;
pub mod ollama;
mod text;
pub mod validation_csv;
pub mod vllm_log;

use crate::error::FormatError;
use headroom_core::measure::MeasurementRecord;

/// The longest line an importer looks at; the rest of a longer line is dropped.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// The longest llama-bench JSON object accepted.
pub const MAX_JSON_OBJECT_BYTES: usize = 1024 * 1024;

/// What an input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImportFormat {
    /// `llama-bench -o json` or `-o jsonl` (one reader handles both).
    LlamaBenchJson,
    LlamaBenchCsv,
    LlamaBenchMarkdown,
    /// `llama-batched-bench`'s table (batch scaling).
    LlamaBatchedBench,
    /// llama.cpp's load log (llama-server, llama-cli, Ollama's server log).
    LlamaCppLog,
    /// vLLM's startup log and `vllm bench serve` results.
    VllmLog,
    /// `mlx_lm.generate` / `mlx_lm.benchmark` output.
    MlxLm,
    /// `ollama run --verbose` timings.
    OllamaVerbose,
    /// The CSV layouts of Headroom's public measurement tables (shared/validation).
    ValidationCsv,
    /// Any runtime's console output: every log reader looks at every line.
    RuntimeOutput,
}

impl ImportFormat {
    pub const ALL: [ImportFormat; 10] = [
        ImportFormat::LlamaBenchJson,
        ImportFormat::LlamaBenchCsv,
        ImportFormat::LlamaBenchMarkdown,
        ImportFormat::LlamaBatchedBench,
        ImportFormat::LlamaCppLog,
        ImportFormat::VllmLog,
        ImportFormat::MlxLm,
        ImportFormat::OllamaVerbose,
        ImportFormat::ValidationCsv,
        ImportFormat::RuntimeOutput,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ImportFormat::LlamaBenchJson => "llama-bench-json",
            ImportFormat::LlamaBenchCsv => "llama-bench-csv",
            ImportFormat::LlamaBenchMarkdown => "llama-bench-md",
            ImportFormat::LlamaBatchedBench => "llama-batched-bench",
            ImportFormat::LlamaCppLog => "llama-cpp-log",
            ImportFormat::VllmLog => "vllm-log",
            ImportFormat::MlxLm => "mlx-lm",
            ImportFormat::OllamaVerbose => "ollama-verbose",
            ImportFormat::ValidationCsv => "validation-csv",
            ImportFormat::RuntimeOutput => "runtime-output",
        }
    }

    /// Accepts the names above, and `llama-bench-jsonl` for the JSON reader.
    pub fn from_name(s: &str) -> Option<ImportFormat> {
        if s == "llama-bench-jsonl" {
            return Some(ImportFormat::LlamaBenchJson);
        }
        ImportFormat::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// Guesses the format from the first lines of an input.
pub fn detect(sample: &str) -> ImportFormat {
    let head: Vec<&str> = sample.lines().take(200).collect();
    let first = head
        .iter()
        .find(|l| !l.trim().is_empty())
        .map_or("", |l| l.trim());
    if first.starts_with("build_commit,") {
        return ImportFormat::LlamaBenchCsv;
    }
    if validation_csv::Layout::from_header(first).is_some() {
        return ImportFormat::ValidationCsv;
    }
    if head
        .iter()
        .any(|l| l.contains("\"build_commit\"") || l.contains("\"avg_ts\""))
    {
        return ImportFormat::LlamaBenchJson;
    }
    if head.iter().any(|l| llama_batched_bench::is_header(l)) {
        return ImportFormat::LlamaBatchedBench;
    }
    if head
        .iter()
        .any(|l| l.trim_start().starts_with('|') && l.contains("t/s") && l.contains("model"))
    {
        return ImportFormat::LlamaBenchMarkdown;
    }
    ImportFormat::RuntimeOutput
}

enum State {
    LlamaBenchJson(llama_bench::JsonState),
    LlamaBenchCsv(llama_bench::CsvState),
    LlamaBenchMarkdown(llama_bench::MarkdownState),
    LlamaBatchedBench(llama_batched_bench::State),
    Logs(Box<LogStates>),
    ValidationCsv(Box<validation_csv::State>),
}

/// The log readers that run together over console output.
struct LogStates {
    llama_cpp: Option<llama_cpp_log::State>,
    vllm: Option<vllm_log::State>,
    mlx: Option<mlx_lm::State>,
    ollama: Option<ollama::State>,
}

/// A streaming importer: feed it lines, drain the records it has finished.
pub struct Importer {
    format: ImportFormat,
    origin: String,
    line_no: u64,
    state: State,
    done: Vec<MeasurementRecord>,
    /// Lines cut at [`MAX_LINE_BYTES`].
    pub truncated_lines: u64,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("format", &self.format)
            .field("line_no", &self.line_no)
            .field("pending", &self.done.len())
            .finish()
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn cut_line(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Importer {
    /// `origin` names the input (a file name) in every record's provenance.
    pub fn new(format: ImportFormat, origin: &str) -> Importer {
        let logs = |l: bool, v: bool, m: bool, o: bool| {
            State::Logs(Box::new(LogStates {
                llama_cpp: l.then(llama_cpp_log::State::default),
                vllm: v.then(vllm_log::State::default),
                mlx: m.then(mlx_lm::State::default),
                ollama: o.then(ollama::State::default),
            }))
        };
        let state = match format {
            ImportFormat::LlamaBenchJson => {
                State::LlamaBenchJson(llama_bench::JsonState::default())
            }
            ImportFormat::LlamaBenchCsv => State::LlamaBenchCsv(llama_bench::CsvState::default()),
            ImportFormat::LlamaBenchMarkdown => {
                State::LlamaBenchMarkdown(llama_bench::MarkdownState::default())
            }
            ImportFormat::LlamaBatchedBench => {
                State::LlamaBatchedBench(llama_batched_bench::State::default())
            }
            ImportFormat::LlamaCppLog => logs(true, false, false, false),
            ImportFormat::VllmLog => logs(false, true, false, false),
            ImportFormat::MlxLm => logs(false, false, true, false),
            ImportFormat::OllamaVerbose => logs(false, false, false, true),
            ImportFormat::RuntimeOutput => logs(true, true, true, true),
            ImportFormat::ValidationCsv => State::ValidationCsv(Box::default()),
        };
        Importer {
            format,
            origin: origin.to_string(),
            line_no: 0,
            state,
            done: Vec::new(),
            truncated_lines: 0,
        }
    }

    pub fn format(&self) -> ImportFormat {
        self.format
    }

    /// Reads one line (without its line break; a trailing `\r` is ignored).
    pub fn feed(&mut self, line: &str) -> Result<(), FormatError> {
        self.line_no += 1;
        let n = self.line_no;
        let mut line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() > MAX_LINE_BYTES {
            self.truncated_lines += 1;
            line = cut_line(line, MAX_LINE_BYTES);
        }
        let out = &mut self.done;
        match &mut self.state {
            State::LlamaBenchJson(s) => s.line(line, n, out)?,
            State::LlamaBenchCsv(s) => s.line(line, n, out)?,
            State::LlamaBenchMarkdown(s) => s.line(line, n, out),
            State::LlamaBatchedBench(s) => s.line(line, n, out)?,
            State::ValidationCsv(s) => s.line(line, n, out)?,
            State::Logs(l) => {
                if let Some(s) = &mut l.llama_cpp {
                    s.line(line, n, out);
                }
                if let Some(s) = &mut l.vllm {
                    s.line(line, n, out);
                }
                if let Some(s) = &mut l.mlx {
                    s.line(line, n, out);
                }
                if let Some(s) = &mut l.ollama {
                    s.line(line, n, out);
                }
            }
        }
        Ok(())
    }

    /// The records finished so far, with their origin filled in.
    pub fn take_records(&mut self) -> Vec<MeasurementRecord> {
        let mut v = std::mem::take(&mut self.done);
        for r in &mut v {
            if r.source.origin.is_empty() {
                r.source.origin = self.origin.clone();
            }
        }
        v
    }

    /// Ends the input: finishes the records still open and returns everything not yet taken.
    pub fn finish(mut self) -> Result<Vec<MeasurementRecord>, FormatError> {
        let out = &mut self.done;
        match &mut self.state {
            State::LlamaBenchJson(s) => s.finish()?,
            State::LlamaBenchCsv(_) => {}
            State::LlamaBatchedBench(s) => s.finish()?,
            State::ValidationCsv(s) => s.finish(out),
            State::LlamaBenchMarkdown(s) => s.finish(out),
            State::Logs(l) => {
                if let Some(s) = &mut l.llama_cpp {
                    s.finish(out);
                }
                if let Some(s) = &mut l.vllm {
                    s.finish(out);
                }
                if let Some(s) = &mut l.mlx {
                    s.finish(out);
                }
                if let Some(s) = &mut l.ollama {
                    s.finish(out);
                }
            }
        }
        Ok(self.take_records())
    }
}

/// Imports every line an iterator yields.
pub fn import_lines(
    format: ImportFormat,
    origin: &str,
    lines: &mut dyn Iterator<Item = &str>,
) -> Result<Vec<MeasurementRecord>, FormatError> {
    let mut imp = Importer::new(format, origin);
    let mut out = Vec::new();
    for l in lines {
        imp.feed(l)?;
        out.append(&mut imp.take_records());
    }
    out.append(&mut imp.finish()?);
    Ok(out)
}

/// Imports a whole text.
pub fn import_str(
    format: ImportFormat,
    origin: &str,
    text: &str,
) -> Result<Vec<MeasurementRecord>, FormatError> {
    import_lines(format, origin, &mut text.lines())
}

/// Splits a byte stream, chunk by chunk, into lines of at most `max` bytes. It never holds more
/// than `max` bytes: the rest of a longer line is dropped and counted. Invalid UTF-8 becomes U+FFFD.
#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    max: usize,
    overlong: bool,
    /// Lines that were cut.
    pub truncated_lines: u64,
}

impl LineSplitter {
    pub fn new(max: usize) -> LineSplitter {
        LineSplitter {
            buf: Vec::with_capacity(max.min(MAX_LINE_BYTES)),
            max: max.max(1),
            overlong: false,
            truncated_lines: 0,
        }
    }

    /// The bytes held for the line in progress.
    pub fn held(&self) -> usize {
        self.buf.len()
    }

    fn emit<E>(&mut self, f: &mut dyn FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        let text = String::from_utf8_lossy(&self.buf);
        let r = f(&text);
        self.buf.clear();
        self.overlong = false;
        r
    }

    /// Feeds a chunk; `f` is called once per complete line.
    pub fn push<E>(
        &mut self,
        chunk: &[u8],
        f: &mut dyn FnMut(&str) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        while !rest.is_empty() {
            let nl = rest.iter().position(|b| *b == b'\n');
            let (part, after) = match nl {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            let room = self.max - self.buf.len();
            if part.len() > room {
                self.buf.extend_from_slice(&part[..room]);
                if !self.overlong {
                    self.overlong = true;
                    self.truncated_lines += 1;
                }
            } else {
                self.buf.extend_from_slice(part);
            }
            match after {
                Some(a) => {
                    self.emit(f)?;
                    rest = a;
                }
                None => break,
            }
        }
        Ok(())
    }

    /// Ends the stream: a last line without a line break is passed to `f`.
    pub fn finish<E>(&mut self, f: &mut dyn FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        if !self.buf.is_empty() {
            self.emit(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], max: usize) -> (Vec<String>, u64) {
        let mut s = LineSplitter::new(max);
        let mut lines = Vec::new();
        for c in chunks {
            s.push::<()>(c, &mut |l| {
                lines.push(l.to_string());
                Ok(())
            })
            .unwrap();
            assert!(s.held() <= max);
        }
        s.finish::<()>(&mut |l| {
            lines.push(l.to_string());
            Ok(())
        })
        .unwrap();
        (lines, s.truncated_lines)
    }

    #[test]
    fn splitter_joins_chunks_and_cuts_long_lines() {
        let (lines, cut) = split(&[b"ab", b"c\nde", b"f\n\nxyz"], 10);
        assert_eq!(lines, vec!["abc", "def", "", "xyz"]);
        assert_eq!(cut, 0);
        let (lines, cut) = split(&[b"0123456789abc", b"def\nok\n"], 4);
        assert_eq!(lines, vec!["0123", "ok"]);
        assert_eq!(cut, 1);
    }

    #[test]
    fn cut_line_respects_char_boundaries() {
        assert_eq!(cut_line("aé", 2), "a");
        assert_eq!(cut_line("abc", 5), "abc");
    }

    #[test]
    fn formats_have_names_and_are_detected() {
        for f in ImportFormat::ALL {
            assert_eq!(ImportFormat::from_name(f.name()), Some(f));
        }
        assert_eq!(
            detect("build_commit,build_number\n"),
            ImportFormat::LlamaBenchCsv
        );
        assert_eq!(
            detect("[\n  {\n    \"build_commit\": \"x\",\n"),
            ImportFormat::LlamaBenchJson
        );
        assert_eq!(
            detect("| model | size | t/s |\n"),
            ImportFormat::LlamaBenchMarkdown
        );
        assert_eq!(
            detect("|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |\n"),
            ImportFormat::LlamaBatchedBench
        );
        assert_eq!(detect("total duration: 1s\n"), ImportFormat::RuntimeOutput);
    }
}
