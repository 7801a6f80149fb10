//! The GGUF header (magic, version, metadata, tensor infos) read from a prefix of the file; the
//! weight data is never touched.
//!
//! Layout, as ggml `docs/gguf.md` and `ggml/src/gguf.cpp` define it (all little-endian):
//! `"GGUF"`, u32 version, u64 tensor count, u64 metadata count, the metadata key/value pairs,
//! the tensor infos (name, u32 n_dims, u64 dims, u32 ggml type, u64 offset), padding to
//! `general.alignment`, then the tensor data. Version 1 (u32 counts) is not read.
//!
//! The checks follow `gguf_init_from_file_impl` in gguf.cpp: at most 4 dims, no element-count
//! overflow, rows a whole number of blocks, offsets aligned and tensors packed in order, no
//! duplicate keys or tensor names, a power-of-two alignment.
//!
//! Tokenizer arrays (`tokenizer.*`: tokens, scores, token types, merges) and any array longer
//! than [`MAX_DECODED_ARRAY_LEN`] are skipped, not decoded: every element's bytes are
//! bounds-checked and the element count kept ([`MetaValue::SkippedArray`]), which is all the
//! model needs of them (the vocabulary size is the token count). Decoding a 152K-token vocabulary
//! into strings is what made a real header slow to read.

use crate::error::FormatError;
use headroom_core::quant::GgmlType;
use headroom_core::tensors::Tensor;
use std::collections::HashSet;

/// `"GGUF"` read as a little-endian u32.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// The alignment of the data section when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// Longest string (key, value or tensor name) accepted.
pub const MAX_STRING_BYTES: u64 = 1 << 20;
/// Most elements in one metadata array (tokenizer arrays hold up to a few hundred thousand).
pub const MAX_ARRAY_LEN: u64 = 16 << 20;
/// Deepest nesting of arrays inside arrays.
pub const MAX_ARRAY_DEPTH: u32 = 4;
/// Most metadata key/value pairs.
pub const MAX_METADATA_KV: u64 = 1 << 16;
/// Most tensors (the largest published models have tens of thousands).
pub const MAX_TENSORS: u64 = 1 << 20;
/// Most dimensions of a tensor (GGML_MAX_DIMS).
pub const MAX_DIMS: u32 = 4;
/// Memory the decoded metadata may take in all, strings and array elements counted (skipped
/// arrays take none).
pub const MAX_METADATA_MEMORY: u64 = 64 << 20;
/// Longest array decoded element by element; longer ones are skipped. Per-layer arrays (at most
/// `limits::MAX_LAYERS` = 1,024 entries) stay decoded.
pub const MAX_DECODED_ARRAY_LEN: u64 = 4096;
/// Key prefix of the arrays always skipped.
pub const SKIPPED_ARRAY_PREFIX: &str = "tokenizer.";

/// A metadata value, typed as in the file.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    Str(String),
    /// Elements all of one type (nested arrays included).
    Array(Vec<MetaValue>),
    /// An array whose elements were checked but not decoded: its element type's GGUF name
    /// (`string`, `i32`, `array`, ...) and its length.
    SkippedArray {
        elem_type: &'static str,
        len: u64,
    },
    U64(u64),
    I64(i64),
    F64(f64),
}

impl MetaValue {
    /// The value as an unsigned integer, when it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(u64::from(v)),
            MetaValue::U16(v) => Some(u64::from(v)),
            MetaValue::U32(v) => Some(u64::from(v)),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) => u64::try_from(v).ok(),
            MetaValue::I16(v) => u64::try_from(v).ok(),
            MetaValue::I32(v) => u64::try_from(v).ok(),
            MetaValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The decoded elements; `None` for a skipped array too.
    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The element count of an array, decoded or skipped.
    pub fn array_len(&self) -> Option<u64> {
        match self {
            MetaValue::Array(a) => Some(a.len() as u64),
            MetaValue::SkippedArray { len, .. } => Some(*len),
            _ => None,
        }
    }

    /// The GGUF type name (`u32`, `string`, `array`, ...), for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            MetaValue::U8(_) => "u8",
            MetaValue::I8(_) => "i8",
            MetaValue::U16(_) => "u16",
            MetaValue::I16(_) => "i16",
            MetaValue::U32(_) => "u32",
            MetaValue::I32(_) => "i32",
            MetaValue::F32(_) => "f32",
            MetaValue::Bool(_) => "bool",
            MetaValue::Str(_) => "string",
            MetaValue::Array(_) | MetaValue::SkippedArray { .. } => "array",
            MetaValue::U64(_) => "u64",
            MetaValue::I64(_) => "i64",
            MetaValue::F64(_) => "f64",
        }
    }
}

/// A GGUF file's header.
#[derive(Clone, Debug, PartialEq)]
pub struct GgufHeader {
    /// 2 or 3.
    pub version: u32,
    /// Key/value pairs in file order.
    pub metadata: Vec<(String, MetaValue)>,
    /// Tensor infos in file order: name, dims (ne[0] first) and type.
    pub tensors: Vec<Tensor>,
    /// Each tensor's offset from `data_offset`, parallel to `tensors`.
    pub tensor_offsets: Vec<u64>,
    /// `general.alignment`, or 32.
    pub alignment: u64,
    /// Where the tensor infos end.
    pub header_len: u64,
    /// Where the tensor data starts: `header_len` rounded up to the alignment.
    pub data_offset: u64,
    /// Bytes of tensor data the infos describe, each tensor padded to the alignment; a whole file
    /// is `data_offset + data_size` bytes long.
    pub data_size: u64,
}

impl GgufHeader {
    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        self.get("general.architecture").and_then(MetaValue::as_str)
    }

    /// Total stored bytes of the tensors (without alignment padding).
    pub fn tensor_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .map(Tensor::bytes)
            .fold(0u64, u64::saturating_add)
    }
}

const TYPE_U8: u32 = 0;
const TYPE_I8: u32 = 1;
const TYPE_U16: u32 = 2;
const TYPE_I16: u32 = 3;
const TYPE_U32: u32 = 4;
const TYPE_I32: u32 = 5;
const TYPE_F32: u32 = 6;
const TYPE_BOOL: u32 = 7;
const TYPE_STRING: u32 = 8;
const TYPE_ARRAY: u32 = 9;
const TYPE_U64: u32 = 10;
const TYPE_I64: u32 = 11;
const TYPE_F64: u32 = 12;

/// The GGUF name of a value type id.
fn type_id_name(ty: u32) -> Option<&'static str> {
    Some(match ty {
        TYPE_U8 => "u8",
        TYPE_I8 => "i8",
        TYPE_U16 => "u16",
        TYPE_I16 => "i16",
        TYPE_U32 => "u32",
        TYPE_I32 => "i32",
        TYPE_F32 => "f32",
        TYPE_BOOL => "bool",
        TYPE_STRING => "string",
        TYPE_ARRAY => "array",
        TYPE_U64 => "u64",
        TYPE_I64 => "i64",
        TYPE_F64 => "f64",
        _ => return None,
    })
}

/// Bytes one element of a fixed-size value type takes in the file.
fn fixed_size(ty: u32) -> Option<u64> {
    match ty {
        TYPE_U8 | TYPE_I8 | TYPE_BOOL => Some(1),
        TYPE_U16 | TYPE_I16 => Some(2),
        TYPE_U32 | TYPE_I32 | TYPE_F32 => Some(4),
        TYPE_U64 | TYPE_I64 | TYPE_F64 => Some(8),
        _ => None,
    }
}

/// Memory charged per decoded value against `MAX_METADATA_MEMORY`.
const VALUE_MEMORY: u64 = std::mem::size_of::<MetaValue>() as u64;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    memory_left: u64,
}

impl<'a> Reader<'a> {
    fn offset(&self) -> u64 {
        self.pos as u64
    }

    fn need(&self, what: &str, bytes: u64) -> FormatError {
        FormatError::NeedMoreBytes {
            what: format!("{what} at byte {}", self.pos),
            needed: self.offset().saturating_add(bytes),
            available: self.buf.len() as u64,
        }
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], FormatError> {
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(self.need(what, n));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.buf[start..self.pos])
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FormatError> {
        let b = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64, FormatError> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn invalid(&self, what: &str, at: u64, problem: impl Into<String>) -> FormatError {
        FormatError::Invalid {
            what: what.to_string(),
            offset: at,
            problem: problem.into(),
        }
    }

    fn charge(&mut self, bytes: u64, what: &str) -> Result<(), FormatError> {
        match self.memory_left.checked_sub(bytes) {
            Some(left) => {
                self.memory_left = left;
                Ok(())
            }
            None => Err(FormatError::TooLarge {
                what: format!("decoded metadata ({what} at byte {})", self.pos),
                value: MAX_METADATA_MEMORY - self.memory_left + bytes,
                limit: MAX_METADATA_MEMORY,
            }),
        }
    }

    /// A length-prefixed string's bytes, bounded.
    fn string_bytes(&mut self, what: &str) -> Result<&'a [u8], FormatError> {
        let at = self.offset();
        let len = self.u64(what)?;
        if len > MAX_STRING_BYTES {
            return Err(FormatError::TooLarge {
                what: format!("{what} length at byte {at}"),
                value: len,
                limit: MAX_STRING_BYTES,
            });
        }
        self.take(len, what)
    }

    /// A UTF-8 string (keys and tensor names must be valid).
    fn strict_string(&mut self, what: &str) -> Result<String, FormatError> {
        let at = self.offset();
        let b = self.string_bytes(what)?;
        self.charge(b.len() as u64, what)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|e| self.invalid(what, at, format!("not UTF-8 ({e})")))
    }

    fn value(&mut self, ty: u32, depth: u32, skip: bool) -> Result<MetaValue, FormatError> {
        self.charge(VALUE_MEMORY, "metadata value")?;
        let what = "metadata value";
        Ok(match ty {
            TYPE_U8 => MetaValue::U8(self.array::<1>(what)?[0]),
            TYPE_I8 => MetaValue::I8(i8::from_le_bytes(self.array(what)?)),
            TYPE_U16 => MetaValue::U16(u16::from_le_bytes(self.array(what)?)),
            TYPE_I16 => MetaValue::I16(i16::from_le_bytes(self.array(what)?)),
            TYPE_U32 => MetaValue::U32(u32::from_le_bytes(self.array(what)?)),
            TYPE_I32 => MetaValue::I32(i32::from_le_bytes(self.array(what)?)),
            TYPE_F32 => MetaValue::F32(f32::from_le_bytes(self.array(what)?)),
            TYPE_U64 => MetaValue::U64(u64::from_le_bytes(self.array(what)?)),
            TYPE_I64 => MetaValue::I64(i64::from_le_bytes(self.array(what)?)),
            TYPE_F64 => MetaValue::F64(f64::from_le_bytes(self.array(what)?)),
            TYPE_BOOL => {
                let at = self.offset();
                match self.array::<1>(what)?[0] {
                    0 => MetaValue::Bool(false),
                    1 => MetaValue::Bool(true),
                    b => {
                        return Err(self.invalid(
                            "bool value",
                            at,
                            format!("byte {b} is not 0 or 1"),
                        ))
                    }
                }
            }
            TYPE_STRING => {
                // Values are read leniently: some tokenizers hold byte tokens that are not UTF-8.
                let b = self.string_bytes("metadata string")?;
                self.charge(b.len() as u64, "metadata string")?;
                MetaValue::Str(String::from_utf8_lossy(b).into_owned())
            }
            TYPE_ARRAY => self.array_value(depth, skip)?,
            other => {
                return Err(self.invalid(
                    "metadata value type",
                    self.offset().saturating_sub(4),
                    format!("unknown type id {other}"),
                ))
            }
        })
    }

    /// An array's element type and length, checked: a known type, a length within
    /// `MAX_ARRAY_LEN`, and at least that many minimal elements left in the input.
    fn array_head(&mut self, depth: u32) -> Result<(u32, u64), FormatError> {
        let at = self.offset();
        if depth >= MAX_ARRAY_DEPTH {
            return Err(self.invalid(
                "metadata array",
                at,
                format!("arrays nested deeper than {MAX_ARRAY_DEPTH}"),
            ));
        }
        let elem_ty = self.u32("array element type")?;
        let len_at = self.offset();
        let len = self.u64("array length")?;
        if len > MAX_ARRAY_LEN {
            return Err(FormatError::TooLarge {
                what: format!("array length at byte {len_at}"),
                value: len,
                limit: MAX_ARRAY_LEN,
            });
        }
        // Every element takes at least this many bytes of the file; a fixed-size array's end is known.
        let min_elem = match elem_ty {
            TYPE_STRING => 8,
            TYPE_ARRAY => 12,
            t => fixed_size(t).ok_or_else(|| {
                self.invalid("array element type", at, format!("unknown type id {t}"))
            })?,
        };
        let left = (self.buf.len() - self.pos) as u64;
        if len.saturating_mul(min_elem) > left {
            return Err(self.need("metadata array", len.saturating_mul(min_elem)));
        }
        Ok((elem_ty, len))
    }

    fn array_value(&mut self, depth: u32, skip: bool) -> Result<MetaValue, FormatError> {
        let (elem_ty, len) = self.array_head(depth)?;
        if skip || len > MAX_DECODED_ARRAY_LEN {
            self.skip_elements(elem_ty, len, depth)?;
            return Ok(MetaValue::SkippedArray {
                elem_type: type_id_name(elem_ty).unwrap_or("unknown"),
                len,
            });
        }
        self.charge(len.saturating_mul(VALUE_MEMORY), "metadata array")?;
        let mut items = Vec::with_capacity(len as usize);
        for _ in 0..len {
            // The array's own charge covers the element slots; undo the per-value charge.
            self.memory_left = self.memory_left.saturating_add(VALUE_MEMORY);
            items.push(self.value(elem_ty, depth + 1, false)?);
        }
        Ok(MetaValue::Array(items))
    }

    /// Steps over `len` elements of type `elem_ty` without decoding them, checking each string's
    /// length and each nested array's head as [`Reader::value`] would; nothing is allocated.
    fn skip_elements(&mut self, elem_ty: u32, len: u64, depth: u32) -> Result<(), FormatError> {
        match elem_ty {
            TYPE_STRING => {
                for _ in 0..len {
                    self.string_bytes("metadata string")?;
                }
            }
            TYPE_ARRAY => {
                for _ in 0..len {
                    let (ty, n) = self.array_head(depth + 1)?;
                    self.skip_elements(ty, n, depth + 1)?;
                }
            }
            TYPE_BOOL => {
                let at = self.offset();
                let bytes = self.take(len, "metadata array")?;
                if let Some(i) = bytes.iter().position(|&b| b > 1) {
                    return Err(self.invalid(
                        "bool value",
                        at + i as u64,
                        format!("byte {} is not 0 or 1", bytes[i]),
                    ));
                }
            }
            ty => {
                // array_head checked the type and that the bytes are there.
                let size = fixed_size(ty).unwrap_or(1);
                self.take(len.saturating_mul(size), "metadata array")?;
            }
        }
        Ok(())
    }
}

/// Reads the header from `prefix`, the first bytes of a GGUF file (the whole file will do, but the
/// first few MiB hold the header of any model). A prefix that ends inside the header gives
/// [`FormatError::NeedMoreBytes`] with the length to read next.
pub fn parse_header(prefix: &[u8]) -> Result<GgufHeader, FormatError> {
    let mut r = Reader {
        buf: prefix,
        pos: 0,
        memory_left: MAX_METADATA_MEMORY,
    };
    let magic = r.array::<4>("magic")?;
    if magic != MAGIC {
        return Err(r.invalid("magic", 0, format!("expected \"GGUF\", found {magic:02x?}")));
    }
    let version = r.u32("version")?;
    match version {
        2 | 3 => {}
        1 => return Err(r.invalid("version", 4, "GGUF version 1 is not supported")),
        v if v.swap_bytes() == 2 || v.swap_bytes() == 3 => {
            return Err(r.invalid(
                "version",
                4,
                "a big-endian GGUF file; only little-endian files are supported",
            ))
        }
        v => return Err(r.invalid("version", 4, format!("unknown version {v}"))),
    }
    let n_tensors = r.u64("tensor count")?;
    if n_tensors > MAX_TENSORS {
        return Err(FormatError::TooLarge {
            what: "tensor count at byte 8".into(),
            value: n_tensors,
            limit: MAX_TENSORS,
        });
    }
    let n_kv = r.u64("metadata count")?;
    if n_kv > MAX_METADATA_KV {
        return Err(FormatError::TooLarge {
            what: "metadata count at byte 16".into(),
            value: n_kv,
            limit: MAX_METADATA_KV,
        });
    }

    let mut metadata = Vec::with_capacity(n_kv.min(1024) as usize);
    let mut keys = HashSet::with_capacity(n_kv.min(1024) as usize);
    for _ in 0..n_kv {
        let at = r.offset();
        let key = r.strict_string("metadata key")?;
        let ty = r.u32("metadata value type")?;
        let value = r.value(ty, 0, key.starts_with(SKIPPED_ARRAY_PREFIX))?;
        if !keys.insert(key.clone()) {
            return Err(r.invalid("metadata key", at, format!("duplicate key `{key}`")));
        }
        metadata.push((key, value));
    }

    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, MetaValue::U32(a))) if *a != 0 && a.is_power_of_two() => u64::from(*a),
        Some((_, v)) => {
            return Err(FormatError::Metadata {
                key: "general.alignment".into(),
                problem: format!("expected a power-of-two u32, found {v:?}"),
            })
        }
    };

    // Each tensor info takes at least 8 + 4 + 4 + 8 bytes.
    let left = (prefix.len() - r.pos) as u64;
    if n_tensors.saturating_mul(24) > left {
        return Err(r.need("tensor infos", n_tensors.saturating_mul(24)));
    }
    let mut tensors = Vec::with_capacity(n_tensors as usize);
    let mut tensor_offsets = Vec::with_capacity(n_tensors as usize);
    let mut names = HashSet::with_capacity(n_tensors as usize);
    let mut data_size = 0u64;
    for _ in 0..n_tensors {
        let at = r.offset();
        let name = r.strict_string("tensor name")?;
        let dims_at = r.offset();
        let n_dims = r.u32("tensor dimension count")?;
        if n_dims > MAX_DIMS {
            return Err(r.invalid(
                "tensor dimension count",
                dims_at,
                format!("tensor `{name}` has {n_dims} dimensions, more than {MAX_DIMS}"),
            ));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        let mut n_elements = 1u64;
        for _ in 0..n_dims {
            let d = r.u64("tensor dimension")?;
            n_elements = n_elements
                .checked_mul(d)
                .filter(|&n| n <= i64::MAX as u64)
                .ok_or_else(|| {
                    r.invalid(
                        "tensor dimensions",
                        dims_at,
                        format!("tensor `{name}` has more elements than fit in 63 bits"),
                    )
                })?;
            dims.push(d);
        }
        let ty_at = r.offset();
        let ty_id = r.u32("tensor type")?;
        let ty = GgmlType::from_id(ty_id).ok_or_else(|| {
            r.invalid(
                "tensor type",
                ty_at,
                format!("tensor `{name}` has unknown ggml type id {ty_id}"),
            )
        })?;
        let row = dims.first().copied().unwrap_or(1);
        if row % ty.block_size() != 0 {
            return Err(r.invalid(
                "tensor dimensions",
                dims_at,
                format!(
                    "tensor `{name}`: row of {row} elements is not a whole number of {}-element {} blocks",
                    ty.block_size(),
                    ty.name()
                ),
            ));
        }
        let off_at = r.offset();
        let offset = r.u64("tensor data offset")?;
        if offset != data_size {
            return Err(r.invalid(
                "tensor data offset",
                off_at,
                format!("tensor `{name}` is at {offset}, expected {data_size} (tensors are stored packed, in order, aligned to {alignment})"),
            ));
        }
        data_size = (n_elements / ty.block_size())
            .checked_mul(ty.type_size())
            .and_then(|b| b.checked_next_multiple_of(alignment))
            .and_then(|b| data_size.checked_add(b))
            .ok_or_else(|| {
                r.invalid(
                    "tensor data",
                    off_at,
                    format!("tensor `{name}`: data size overflows 64 bits"),
                )
            })?;
        if !names.insert(name.clone()) {
            return Err(r.invalid("tensor name", at, format!("duplicate tensor `{name}`")));
        }
        tensors.push(Tensor { name, dims, ty });
        tensor_offsets.push(offset);
    }
    let header_len = r.offset();
    let data_offset = header_len.next_multiple_of(alignment);
    Ok(GgufHeader {
        version,
        metadata,
        tensors,
        tensor_offsets,
        alignment,
        header_len,
        data_offset,
        data_size,
    })
}
