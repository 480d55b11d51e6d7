//! The CSV reader for user files.
//!
//! Accepts a header row; comma, semicolon or tab delimiters (detected from the header
//! line); quoted fields with `""` escapes and embedded newlines; UTF-8 with or without
//! a byte-order mark; LF or CRLF line ends; blank lines (skipped). Every problem is a
//! [`CsvError`] value naming the line (1-based, the header is line 1), the column and
//! the offending text (cut to [`SHOWN_CHARS`] characters): the reader never panics on
//! input.
//!
//! A file without a quote character (most files) is split where it stands: fields are
//! spans of the file's own text, nothing is copied, and each field is read as a number
//! as it is met. Any other file goes through the `csv` crate's tokenizer (2.3× faster
//! than the hand-written one it replaced, measured on a 25 MB file), its fields copied
//! into one buffer; a property test holds the two to the same tables. The crate accepts
//! a quote that is never closed (the rest of the file becomes one field), so the last
//! record, the only one such a quote can open, is checked for it.
//! The header line is counted before anything is split, so a 50 MB line of delimiters
//! is refused at once rather than split into millions of cells.

use super::{Dataset, Target};
use crate::said::Said;
use crate::text::Text;
use csv::ByteRecord;
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// Largest file accepted, in bytes (a browser tab holds it comfortably, twice over).
pub const MAX_BYTES: usize = 50 * 1024 * 1024;
/// Most data rows accepted.
pub const MAX_ROWS: usize = 100_000;
/// Most columns accepted (the exact Hessian grows with the square of this).
pub const MAX_COLUMNS: usize = 500;
/// Longest cell text quoted in an error message (longer cells are cut, with "…").
pub const SHOWN_CHARS: usize = 60;

/// `text`, cut to [`SHOWN_CHARS`] characters for a message.
pub fn shown(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(SHOWN_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}… ({} characters)", text.chars().count())
    } else {
        head
    }
}

/// A parsed file: the header's names and every data row's fields. The fields are spans
/// of one text: the file itself when it has no quote character (most files; nothing is
/// copied), otherwise the unquoted fields one after another.
#[derive(Debug, Clone)]
pub struct CsvTable {
    /// Column names from the header row.
    pub headers: Vec<String>,
    /// The detected delimiter.
    pub delimiter: char,
    /// The text the fields are spans of.
    text: String,
    /// Field `k` (row `k / width`, column `k % width`) is `text[spans[k][0]..spans[k][1]]`
    /// (files are under [`MAX_BYTES`], so every offset fits in a `u32`).
    spans: Vec<[u32; 2]>,
    /// The 1-based line on which each row starts.
    lines: Vec<usize>,
    /// Every field as [`finite_number`] reads it, NaN where that is `None`: read once,
    /// as the row is parsed (the field is then in the cache), for the column check and
    /// every training on this file after it.
    numbers: Vec<f64>,
}

impl CsvTable {
    /// Data rows.
    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// Data row `r` (`None` outside the table).
    pub fn row(&self, r: usize) -> Option<Row<'_>> {
        (r < self.n_rows()).then_some(Row { table: self, r })
    }

    /// Every data row, in the file's order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row<'_>> + '_ {
        (0..self.n_rows()).map(|r| Row { table: self, r })
    }

    /// Field `c` of data row `r` as a finite number ([`finite_number`]); `None` for
    /// text, a missing value, a number that is not finite, or a place outside the table.
    pub fn number(&self, r: usize, c: usize) -> Option<f64> {
        self.row_numbers(r).get(c).copied().filter(|v| !v.is_nan())
    }

    /// Every field of data row `r` as [`CsvTable::number`] reads it, NaN where that
    /// is `None` (empty for a row outside the table).
    pub(super) fn row_numbers(&self, r: usize) -> &[f64] {
        let width = self.headers.len();
        self.numbers.get(r * width..(r + 1) * width).unwrap_or(&[])
    }

    /// The table of rows `kept` (in that order), under the same header.
    pub fn keep_rows(&self, kept: &[usize]) -> CsvTable {
        let mut cells = Cells::default();
        for row in kept.iter().filter_map(|&r| self.row(r)) {
            cells.push_copies(row.line(), row.cells().map(str::as_bytes));
        }
        // Spans of text: they stay text.
        let text = String::from_utf8(std::mem::take(&mut cells.text)).unwrap_or_default();
        cells.table(self.headers.clone(), self.delimiter, text)
    }
}

/// Tables are equal when their headers, fields, lines and delimiters are (the numbers
/// follow from the fields).
impl PartialEq for CsvTable {
    fn eq(&self, other: &Self) -> bool {
        self.headers == other.headers
            && self.delimiter == other.delimiter
            && self.lines == other.lines
            && self.rows().zip(other.rows()).all(|(a, b)| a.cells().eq(b.cells()))
    }
}

/// One data row of a [`CsvTable`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    table: &'a CsvTable,
    r: usize,
}

impl<'a> Row<'a> {
    /// The 1-based line on which the row starts.
    pub fn line(&self) -> usize {
        self.table.lines.get(self.r).copied().unwrap_or(0)
    }

    /// Field `c`, unquoted (`None` outside the row).
    pub fn cell(&self, c: usize) -> Option<&'a str> {
        let width = self.table.headers.len();
        let [from, to] = *self.table.spans.get(self.r * width + c).filter(|_| c < width)?;
        self.table.text.get(from as usize..to as usize)
    }

    /// Every field, unquoted.
    pub fn cells(&self) -> impl Iterator<Item = &'a str> + 'a {
        let row = *self;
        (0..self.table.headers.len()).map_while(move |c| row.cell(c))
    }
}

/// The fields of a table as they are read, row by row.
#[derive(Default)]
struct Cells {
    /// The fields' text when they are copies (a file with quotes).
    text: Vec<u8>,
    spans: Vec<[u32; 2]>,
    lines: Vec<usize>,
    numbers: Vec<f64>,
}

impl Cells {
    /// Room for `rows` rows of `width` fields, in a text of `bytes`.
    fn reserve(&mut self, rows: usize, width: usize, bytes: usize) {
        let fields = rows.saturating_mul(width).min(bytes);
        self.spans.reserve(fields);
        self.numbers.reserve(fields);
        self.lines.reserve(rows.min(MAX_ROWS));
    }

    /// Append the row starting on `line` whose fields are `spans` of `text`.
    fn push_spans(&mut self, line: usize, text: &[u8], spans: &[[u32; 2]]) {
        for &[from, to] in spans {
            let field = text.get(from as usize..to as usize).unwrap_or_default();
            self.numbers.push(finite_bytes(field).unwrap_or(f64::NAN));
        }
        self.spans.extend_from_slice(spans);
        self.lines.push(line);
    }

    /// Append the row starting on `line` with copies of `fields`.
    fn push_copies<'f>(&mut self, line: usize, fields: impl Iterator<Item = &'f [u8]>) {
        for field in fields {
            let from = self.text.len() as u32;
            self.text.extend_from_slice(field);
            self.spans.push([from, self.text.len() as u32]);
            self.numbers.push(finite_bytes(field).unwrap_or(f64::NAN));
        }
        self.lines.push(line);
    }

    /// The table of these rows, spans of `text`.
    fn table(self, headers: Vec<String>, delimiter: char, text: String) -> CsvTable {
        let Cells { spans, lines, numbers, .. } = self;
        CsvTable { headers, delimiter, text, spans, lines, numbers }
    }
}

/// Everything that can be wrong with a user's file, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CsvError {
    /// No bytes, or only whitespace.
    Empty,
    /// The header row is there but no data row follows.
    HeaderOnly,
    /// The file is larger than [`MAX_BYTES`].
    TooLarge {
        /// Size of the file.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not UTF-8 text.
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// A header cell is blank.
    EmptyHeader {
        /// 1-based column.
        column: usize,
    },
    /// Two header cells have the same name.
    DuplicateHeader {
        /// The repeated name.
        name: String,
        /// 1-based column of the repeat.
        column: usize,
        /// 1-based column where it first appears.
        first: usize,
    },
    /// A data row has a different number of fields from the header.
    RaggedRow {
        /// 1-based line.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// A quote opened on `line` is never closed.
    UnclosedQuote {
        /// 1-based line where the quote opens.
        line: usize,
    },
    /// The tokenizer could not read a row.
    Unreadable {
        /// 1-based line.
        line: usize,
        /// What the tokenizer said.
        message: String,
    },
    /// A feature (or regression target) cell is not a number.
    NonNumeric {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Column name.
        name: String,
        /// The cell as written.
        text: String,
    },
    /// A cell is empty.
    MissingCell {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Column name.
        name: String,
        /// The cell as written (empty, or a marker such as NA).
        text: String,
    },
    /// A cell is NaN or infinite.
    NonFinite {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Column name.
        name: String,
        /// The cell as written.
        text: String,
    },
    /// The chosen target is not a column of the file.
    TargetNotFound {
        /// The requested name.
        name: String,
        /// The header, comma separated.
        available: String,
    },
    /// An excluded column is not a column of the file.
    ExcludedNotFound {
        /// The requested name.
        name: String,
    },
    /// A feature column of the first file is missing from another file.
    ColumnMissing {
        /// The missing column.
        name: String,
    },
    /// Removing the target and excluded columns leaves nothing.
    NoFeatures,
    /// Dropping the rows with missing cells leaves none.
    NoRows,
    /// A classification target with fewer than two distinct labels.
    SingleClass {
        /// Target column.
        name: String,
        /// The only label.
        class: String,
    },
    /// More data rows than [`MAX_ROWS`].
    TooManyRows {
        /// The limit.
        limit: usize,
    },
    /// More columns than [`MAX_COLUMNS`].
    TooManyColumns {
        /// Columns found.
        found: usize,
        /// The limit.
        limit: usize,
    },
}

impl CsvError {
    /// The error in words ([`crate::said`]).
    /// The error as a sentence about the file called `name` ("name: why").
    pub fn said_in(&self, name: &str) -> Said {
        Said::new(Text::ErrInFile).with("name", name).with_said("why", self.said())
    }

    pub fn said(&self) -> Said {
        match self {
            Self::Empty => Said::new(Text::ErrCsvEmpty),
            Self::HeaderOnly => Said::new(Text::ErrCsvHeaderOnly),
            Self::TooLarge { found, limit } => {
                Said::new(Text::ErrCsvTooLarge).with("found", found).with("limit", limit)
            }
            Self::NotUtf8 { offset } => Said::new(Text::ErrCsvNotUtf8).with("offset", offset),
            Self::EmptyHeader { column } => Said::new(Text::ErrCsvEmptyHeader).with("column", column),
            Self::DuplicateHeader { name, column, first } => Said::new(Text::ErrCsvDuplicateHeader)
                .with("column", column)
                .with("name", name)
                .with("first", first),
            Self::RaggedRow { line, expected, found } => Said::new(Text::ErrCsvRaggedRow)
                .with("line", line)
                .with("expected", expected)
                .with("found", found),
            Self::UnclosedQuote { line } => Said::new(Text::ErrCsvUnclosedQuote).with("line", line),
            Self::Unreadable { line, message } => {
                Said::new(Text::ErrCsvUnreadable).with("line", line).with("message", message)
            }
            Self::NonNumeric { line, column, name, text } => Said::new(Text::ErrCsvNonNumeric)
                .with("line", line)
                .with("column", column)
                .with("name", name)
                .with("text", text),
            Self::MissingCell { line, column, name, text } => Said::new(Text::ErrCsvMissingCell)
                .with("line", line)
                .with("column", column)
                .with("name", name)
                .with("text", text),
            Self::NonFinite { line, column, name, text } => Said::new(Text::ErrCsvNonFinite)
                .with("line", line)
                .with("column", column)
                .with("name", name)
                .with("text", text),
            Self::TargetNotFound { name, available } => {
                Said::new(Text::ErrCsvTargetNotFound).with("name", name).with("available", available)
            }
            Self::ExcludedNotFound { name } => Said::new(Text::ErrCsvExcludedNotFound).with("name", name),
            Self::ColumnMissing { name } => Said::new(Text::ErrCsvColumnMissing).with("name", name),
            Self::NoFeatures => Said::new(Text::ErrCsvNoFeatures),
            Self::NoRows => Said::new(Text::ErrCsvNoRows),
            Self::SingleClass { name, class } => {
                Said::new(Text::ErrCsvSingleClass).with("name", name).with("class", class)
            }
            Self::TooManyRows { limit } => Said::new(Text::ErrCsvTooManyRows).with("limit", limit),
            Self::TooManyColumns { found, limit } => {
                Said::new(Text::ErrCsvTooManyColumns).with("found", found).with("limit", limit)
            }
        }
    }
}

crate::said_error!(CsvError);

/// How to read the target column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetKind {
    /// Labels (numbers or strings), mapped to classes `0..K`.
    Classes,
    /// Real numbers (regression).
    Real,
    /// Real if every label is a number and there are non-integers or more than
    /// [`AUTO_MAX_CLASSES`] distinct values; classes otherwise.
    Auto,
}

/// In [`TargetKind::Auto`], a numeric target with more distinct values is regression.
pub const AUTO_MAX_CLASSES: usize = 20;

/// Which columns make the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// Name of the target column.
    pub target: String,
    /// Columns to drop.
    pub exclude: Vec<String>,
    /// How to read the target.
    pub kind: TargetKind,
}

/// Parse raw bytes: checks size and UTF-8, then reads every record (from a copy: the
/// parser owns its bytes, one instance of the tokenizer serves every caller).
pub fn parse_bytes(bytes: &[u8]) -> Result<CsvTable, CsvError> {
    if bytes.len() > MAX_BYTES {
        return Err(CsvError::TooLarge { found: bytes.len(), limit: MAX_BYTES });
    }
    CsvParser::new(bytes.to_vec())?.run()
}

/// Parse CSV text into a header and raw records.
pub fn parse(text: &str) -> Result<CsvTable, CsvError> {
    parse_bytes(text.as_bytes())
}

/// A parse in steps: [`CsvParser::step`] reads some records at a time, so that the
/// worker can report progress and read a Cancel between steps; [`parse`] runs it to
/// the end. It owns the file's bytes.
pub struct CsvParser {
    tokens: Tokens,
    /// Bytes of a byte-order mark before the text.
    skip: usize,
    delimiter: char,
    header: Option<Vec<String>>,
    cells: Cells,
    /// The current record's fields (spans of the file, or of the tokenizer's record).
    fields: Vec<[u32; 2]>,
}

/// Where the records come from.
enum Tokens {
    /// A file without a quote character: split where it stands ([`Plain`]).
    Plain(Plain),
    /// Any other file: the `csv` crate's tokenizer, its fields copied out.
    Quoted(Box<csv::Reader<std::io::Cursor<Vec<u8>>>>, ByteRecord),
}

/// The records of a text without quotes, read as the `csv` crate reads them: a
/// delimiter ends a field; `\n`, `\r` or `\r\n` ends a record; empty lines are no
/// records. Nothing is copied: fields are spans of the text.
struct Plain {
    text: String,
    /// The next byte to read.
    at: usize,
    /// 1-based line of `at` (lines end at `\n`).
    line: usize,
}

impl Plain {
    /// The next record's fields into `fields` and its line; `None` at the end.
    fn next(&mut self, delimiter: u8, fields: &mut Vec<[u32; 2]>) -> Option<usize> {
        let bytes = self.text.as_bytes();
        while let Some(&c) = bytes.get(self.at).filter(|c| matches!(c, b'\n' | b'\r')) {
            self.line += usize::from(c == b'\n');
            self.at += 1;
        }
        let rest = bytes.get(self.at..).filter(|rest| !rest.is_empty())?;
        fields.clear();
        let mut from = self.at;
        // Each delimiter or line end, found some bytes at a time (memchr's SIMD search).
        for k in memchr::memchr3_iter(delimiter, b'\n', b'\r', rest) {
            let end = self.at + k;
            fields.push([from as u32, end as u32]);
            if rest.get(k) != Some(&delimiter) {
                self.at = end;
                return Some(self.line);
            }
            from = end + 1;
        }
        fields.push([from as u32, bytes.len() as u32]);
        self.at = bytes.len();
        Some(self.line)
    }
}

impl CsvParser {
    /// Check the file's size, encoding, emptiness and header width, and get ready to
    /// read its records.
    pub fn new(bytes: Vec<u8>) -> Result<Self, CsvError> {
        if bytes.len() > MAX_BYTES {
            return Err(CsvError::TooLarge { found: bytes.len(), limit: MAX_BYTES });
        }
        let text = String::from_utf8(bytes)
            .map_err(|e| CsvError::NotUtf8 { offset: e.utf8_error().valid_up_to() })?;
        let skip = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        let body = &text[skip..];
        if body.trim().is_empty() {
            return Err(CsvError::Empty);
        }
        let (delimiter, header_fields) = detect_delimiter(body);
        if header_fields > MAX_COLUMNS {
            return Err(CsvError::TooManyColumns { found: header_fields, limit: MAX_COLUMNS });
        }
        let tokens = if text.as_bytes().contains(&b'"') {
            let mut cursor = std::io::Cursor::new(text.into_bytes());
            cursor.set_position(skip as u64);
            let reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delimiter as u8)
                .from_reader(cursor);
            Tokens::Quoted(Box::new(reader), ByteRecord::new())
        } else {
            Tokens::Plain(Plain { text, at: skip, line: 1 })
        };
        Ok(Self { tokens, skip, delimiter, header: None, cells: Cells::default(), fields: Vec::new() })
    }

    /// The text after any byte-order mark.
    fn text(&self) -> &[u8] {
        let all = match &self.tokens {
            Tokens::Plain(p) => p.text.as_bytes(),
            Tokens::Quoted(reader, _) => reader.get_ref().get_ref(),
        };
        all.get(self.skip..).unwrap_or_default()
    }

    /// Bytes read so far, and bytes in all.
    pub fn position(&self) -> (usize, usize) {
        let total = self.text().len();
        let at = match &self.tokens {
            Tokens::Plain(p) => p.at - self.skip,
            Tokens::Quoted(reader, _) => reader.position().byte() as usize,
        };
        (at.min(total), total)
    }

    /// The next record's fields into `self.fields` (spans of [`CsvParser::record_text`])
    /// and the line on which it starts; `None` at the end of the file.
    fn next_record(&mut self) -> Result<Option<usize>, CsvError> {
        let delimiter = self.delimiter as u8;
        let (reader, record) = match &mut self.tokens {
            Tokens::Plain(p) => return Ok(p.next(delimiter, &mut self.fields)),
            Tokens::Quoted(reader, record) => (reader, record),
        };
        let start = reader.position().clone();
        match reader.read_byte_record(record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(start.line() as usize, |p| p.line() as usize);
                return Err(CsvError::Unreadable { line, message: e.to_string() });
            }
        }
        // The tokenizer's position is where the last record ended: the empty lines
        // it skipped before this one are counted here.
        let all = reader.get_ref().get_ref();
        let skipped = all.get(start.byte() as usize..).unwrap_or_default();
        let ends = skipped.iter().take_while(|c| matches!(c, b'\n' | b'\r')).filter(|&&c| c == b'\n').count();
        let line = start.line() as usize + ends;
        // A quote that never closes swallows the rest of the file: only a record
        // that runs to the end can hold one, and it is reported before any other
        // problem.
        if reader.position().byte() as usize >= all.len() {
            let rest = std::str::from_utf8(skipped).unwrap_or_default();
            if let Some(l) = unclosed_quote(rest, self.delimiter) {
                return Err(CsvError::UnclosedQuote { line: start.line() as usize + l - 1 });
            }
        }
        self.fields.clear();
        let mut from = 0;
        for field in record.iter() {
            self.fields.push([from as u32, (from + field.len()) as u32]);
            from += field.len();
        }
        Ok(Some(line))
    }

    /// The text the current record's fields are spans of.
    fn record_text(&self) -> &[u8] {
        match &self.tokens {
            Tokens::Plain(p) => p.text.as_bytes(),
            Tokens::Quoted(_, record) => record.as_slice(),
        }
    }

    /// Field `k` of the current record.
    fn field(&self, k: usize) -> &[u8] {
        let [from, to] = self.fields.get(k).copied().unwrap_or_default();
        self.record_text().get(from as usize..to as usize).unwrap_or_default()
    }

    /// Read up to `records` more records: the table once the file has ended.
    pub fn step(&mut self, records: usize) -> Result<Option<CsvTable>, CsvError> {
        for _ in 0..records {
            let at = self.position().0;
            let Some(line) = self.next_record()? else { return self.finish().map(Some) };
            if self.fields.len() == 1 && std::str::from_utf8(self.field(0)).is_ok_and(|f| f.trim().is_empty())
            {
                continue; // a blank line
            }
            let Some(width) = self.header.as_ref().map(Vec::len) else {
                self.header = Some(check_header((0..self.fields.len()).map(|k| self.field(k)))?);
                continue;
            };
            if self.fields.len() != width {
                return Err(CsvError::RaggedRow { line, expected: width, found: self.fields.len() });
            }
            if self.cells.lines.len() == MAX_ROWS {
                return Err(CsvError::TooManyRows { limit: MAX_ROWS });
            }
            if self.cells.lines.is_empty() {
                // Room for the whole file at once, as wide as its first row
                // (growing by doubling copied each buffer about twice over).
                let (next, total) = self.position();
                let first = next.saturating_sub(at).max(1);
                self.cells.reserve(total.saturating_sub(next) / first + 1, width, total);
            }
            match &self.tokens {
                Tokens::Plain(p) => self.cells.push_spans(line, p.text.as_bytes(), &self.fields),
                Tokens::Quoted(_, record) => {
                    let text = record.as_slice();
                    let fields = self
                        .fields
                        .iter()
                        .map(|&[a, b]| text.get(a as usize..b as usize).unwrap_or_default());
                    self.cells.push_copies(line, fields);
                }
            }
        }
        Ok(None)
    }

    /// Read every remaining record.
    pub fn run(mut self) -> Result<CsvTable, CsvError> {
        loop {
            if let Some(table) = self.step(usize::MAX)? {
                return Ok(table);
            }
        }
    }

    fn finish(&mut self) -> Result<CsvTable, CsvError> {
        let headers = self.header.take().ok_or(CsvError::Empty)?;
        let mut cells = std::mem::take(&mut self.cells);
        if cells.lines.is_empty() {
            return Err(CsvError::HeaderOnly);
        }
        let text = match &mut self.tokens {
            Tokens::Plain(p) => std::mem::take(&mut p.text),
            // The file is UTF-8 and the tokenizer only drops ASCII quotes and delimiters.
            Tokens::Quoted(..) => String::from_utf8(std::mem::take(&mut cells.text))
                .map_err(|e| CsvError::Unreadable { line: 0, message: e.to_string() })?,
        };
        Ok(cells.table(headers, self.delimiter, text))
    }
}

/// Header names, trimmed; none blank, none repeated.
fn check_header<'f>(record: impl Iterator<Item = &'f [u8]>) -> Result<Vec<String>, CsvError> {
    // The file is UTF-8 (checked first): the lossy reading loses nothing.
    let headers: Vec<String> = record.map(|h| String::from_utf8_lossy(h).trim().to_string()).collect();
    if headers.len() > MAX_COLUMNS {
        return Err(CsvError::TooManyColumns { found: headers.len(), limit: MAX_COLUMNS });
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (c, h) in headers.iter().enumerate() {
        if h.is_empty() {
            return Err(CsvError::EmptyHeader { column: c + 1 });
        }
        if let Some(&first) = seen.get(h.as_str()) {
            return Err(CsvError::DuplicateHeader { name: shown(h), column: c + 1, first });
        }
        seen.insert(h, c + 1);
    }
    Ok(headers)
}

/// The delimiter that occurs most often, outside quotes, on the first line, and the
/// number of fields it makes there.
fn detect_delimiter(text: &str) -> (char, usize) {
    let (mut counts, mut quoted) = ([0usize; 3], false);
    for ch in text.chars() {
        match ch {
            '"' => quoted = !quoted,
            '\n' if !quoted => break,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    ([',', ';', '\t'][best], counts[best] + 1)
}

/// The 1-based line (within `record`) of a quote that opens a field and is never
/// closed, following the tokenizer's rules: a quote opens only at the start of a
/// field, `""` inside quotes is a quote, and text after a closing quote is plain.
fn unclosed_quote(record: &str, delimiter: char) -> Option<usize> {
    let (mut line, mut opened) = (1usize, 0usize);
    let (mut at_start, mut in_quotes) = (true, false);
    let mut chars = record.chars().peekable();
    while let Some(ch) = chars.next() {
        if in_quotes {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                }
                '"' => in_quotes = false,
                '\n' => line += 1,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' if at_start => {
                in_quotes = true;
                opened = line;
            }
            '\n' => {
                line += 1;
                at_start = true;
                continue;
            }
            c if c == delimiter => {
                at_start = true;
                continue;
            }
            _ => {}
        }
        at_start = false;
    }
    in_quotes.then_some(opened)
}

/// Powers of ten that f64 holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 16] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// A plain decimal of at most 15 digits (`-12`, `0.50017`, `+3.`, `.25`; no exponent,
/// no spaces), converted as the standard parser converts it, faster: its digits `w`
/// and `k` decimals give `w / 10^k`, both exact in f64 (`w < 2^53`), so the one
/// correctly rounded division is the correctly rounded value (Clinger, "How to read
/// floating point numbers accurately", 1990). Anything else is `None`, for the parser.
pub fn quick_decimal(cell: &str) -> Option<f64> {
    quick_decimal_bytes(cell.as_bytes())
}

/// [`quick_decimal`] of a field's bytes.
fn quick_decimal_bytes(cell: &[u8]) -> Option<f64> {
    let (negative, b) = match cell {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        b => (false, b),
    };
    // The point first, then two runs of digits: no test per character but "a digit?".
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], b.get(p + 1..).unwrap_or_default()),
        None => (b, &[][..]),
    };
    if int.is_empty() && frac.is_empty() || int.len() + frac.len() > 15 {
        return None;
    }
    let digits = |w: u64, run: &[u8]| {
        run.iter().try_fold(w, |w, &c| {
            let d = c.wrapping_sub(b'0');
            (d < 10).then(|| w * 10 + u64::from(d))
        })
    };
    let w = digits(digits(0, int)?, frac)?;
    let v = w as f64 / EXACT_POWERS_OF_TEN.get(frac.len())?;
    Some(if negative { -v } else { v })
}

/// A cell that is a finite number as it stands (no trimming): most cells are short
/// plain decimals ([`quick_decimal`]); the rest go to the standard parser.
pub fn finite_number(cell: &str) -> Option<f64> {
    finite_bytes(cell.as_bytes())
}

/// [`finite_number`] of a field's bytes (text that is not UTF-8 is no number).
fn finite_bytes(cell: &[u8]) -> Option<f64> {
    quick_decimal_bytes(cell).or_else(|| {
        let text = std::str::from_utf8(cell).ok()?;
        text.parse::<f64>().ok().filter(|v| v.is_finite())
    })
}

/// Parse one numeric cell, with the error a user can act on.
fn number(table: &CsvTable, r: usize, column: usize, name: &str) -> Result<f64, CsvError> {
    if let Some(v) = table.number(r, column) {
        return Ok(v);
    }
    let rec = table.row(r).ok_or(CsvError::NoRows)?;
    let line = rec.line();
    let text = rec.cell(column).unwrap_or("").trim();
    if super::columns::is_missing(text) && !text.eq_ignore_ascii_case("nan") {
        return Err(CsvError::MissingCell { line, column: column + 1, name: name.into(), text: shown(text) });
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(CsvError::NonFinite { line, column: column + 1, name: name.into(), text: shown(text) }),
        Err(_) => {
            Err(CsvError::NonNumeric { line, column: column + 1, name: name.into(), text: shown(text) })
        }
    }
}

/// Build datasets from one or more tables (train first, then test) that share the
/// feature columns of the first table and one class mapping: the classes are the
/// union of the labels of all tables. An error comes with the index of its table.
pub fn datasets_from_tables(
    tables: &[&CsvTable],
    spec: &ColumnSpec,
) -> Result<Vec<Dataset>, (usize, CsvError)> {
    let first = tables.first().ok_or((0, CsvError::Empty))?;
    for name in &spec.exclude {
        if !first.headers.contains(name) {
            return Err((0, CsvError::ExcludedNotFound { name: name.clone() }));
        }
    }
    let features: Vec<String> =
        first.headers.iter().filter(|h| **h != spec.target && !spec.exclude.contains(h)).cloned().collect();
    if features.is_empty() {
        return Err((0, CsvError::NoFeatures));
    }
    // Column positions of the target and the features in every table.
    let mut layouts = Vec::with_capacity(tables.len());
    for (t, table) in tables.iter().enumerate() {
        let position = |name: &str| table.headers.iter().position(|h| h == name);
        let target = position(&spec.target).ok_or_else(|| {
            (t, CsvError::TargetNotFound { name: spec.target.clone(), available: table.headers.join(", ") })
        })?;
        let cols = features
            .iter()
            .map(|f| position(f).ok_or_else(|| (t, CsvError::ColumnMissing { name: f.clone() })))
            .collect::<Result<Vec<_>, _>>()?;
        layouts.push((target, cols));
    }
    let target = read_target(tables, &layouts, spec)?;
    let mut out = Vec::with_capacity(tables.len());
    for (t, (table, (tcol, cols))) in tables.iter().zip(&layouts).enumerate() {
        let mut x = Vec::with_capacity(table.n_rows() * cols.len());
        let mut y = Vec::with_capacity(table.n_rows());
        // The features side by side in the file (the common case) are one slice a row.
        let run =
            cols.first().map(|&c0| c0..c0 + cols.len()).filter(|run| cols.iter().copied().eq(run.clone()));
        for (r, rec) in table.rows().enumerate() {
            let numbers = table.row_numbers(r);
            match run.as_ref().and_then(|run| numbers.get(run.clone())) {
                Some(row) if !row.iter().any(|v| v.is_nan()) => x.extend_from_slice(row),
                _ => {
                    for (j, &c) in cols.iter().enumerate() {
                        match numbers.get(c) {
                            Some(&v) if !v.is_nan() => x.push(v),
                            _ => x.push(number(table, r, c, &features[j]).map_err(|e| (t, e))?),
                        }
                    }
                }
            }
            y.push(match &target {
                TargetValues::Classes(map, _) => {
                    map.get(rec.cell(*tcol).unwrap_or("").trim()).copied().unwrap_or(0) as f64
                }
                TargetValues::Real => number(table, r, *tcol, &spec.target).map_err(|e| (t, e))?,
            });
        }
        let target = match &target {
            TargetValues::Classes(_, names) => Target::Classes { names: names.clone() },
            TargetValues::Real => Target::Real,
        };
        let x = Array2::from_shape_vec((table.n_rows(), cols.len()), x)
            .map_err(|e| (t, CsvError::Unreadable { line: 0, message: e.to_string() }))?;
        out.push(Dataset { feature_names: features.clone(), target_name: spec.target.clone(), x, y, target });
    }
    Ok(out)
}

/// Columns of the second and later tables that the first (training) table lacks:
/// they are not used, and a caller should say so.
pub fn extra_columns(tables: &[&CsvTable]) -> Vec<String> {
    let Some((first, rest)) = tables.split_first() else { return vec![] };
    let mut out: Vec<String> = Vec::new();
    for t in rest {
        for h in &t.headers {
            if !first.headers.contains(h) && !out.contains(h) {
                out.push(h.clone());
            }
        }
    }
    out
}

enum TargetValues {
    Classes(HashMap<String, usize>, Vec<String>),
    Real,
}

/// Decide how to read the target and, for classes, map labels to `0..K`: numeric
/// labels in numeric order, otherwise in text order.
fn read_target(
    tables: &[&CsvTable],
    layouts: &[(usize, Vec<usize>)],
    spec: &ColumnSpec,
) -> Result<TargetValues, (usize, CsvError)> {
    // The labels as written (borrowed: no copy per row).
    let mut labels: BTreeSet<&str> = BTreeSet::new();
    for (t, (table, (tcol, _))) in tables.iter().zip(layouts).enumerate() {
        for rec in table.rows() {
            let text = rec.cell(*tcol).unwrap_or("").trim();
            if text.is_empty() {
                return Err((
                    t,
                    CsvError::MissingCell {
                        line: rec.line(),
                        column: tcol + 1,
                        name: spec.target.clone(),
                        text: String::new(),
                    },
                ));
            }
            labels.insert(text);
        }
    }
    let numeric: Option<Vec<f64>> = labels.iter().map(|l| l.parse::<f64>().ok()).collect();
    let kind = match (spec.kind, &numeric) {
        (TargetKind::Auto, Some(v)) => {
            let integers = v.iter().all(|x| x.fract() == 0.0);
            if integers && labels.len() <= AUTO_MAX_CLASSES {
                TargetKind::Classes
            } else {
                TargetKind::Real
            }
        }
        (TargetKind::Auto, None) => TargetKind::Classes,
        (k, _) => k,
    };
    if kind == TargetKind::Real {
        return Ok(TargetValues::Real);
    }
    let mut names: Vec<String> = labels.into_iter().map(str::to_string).collect();
    if let Some(mut v) = numeric {
        let mut pairs: Vec<(f64, String)> = v.drain(..).zip(names.drain(..)).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        names = pairs.into_iter().map(|p| p.1).collect();
    }
    if names.len() < 2 {
        return Err((
            0,
            CsvError::SingleClass { name: spec.target.clone(), class: names.pop().unwrap_or_default() },
        ));
    }
    let map = names.iter().enumerate().map(|(k, n)| (n.clone(), k)).collect();
    Ok(TargetValues::Classes(map, names))
}

/// Parse one file and build its dataset.
pub fn read_dataset(text: &str, spec: &ColumnSpec) -> Result<Dataset, CsvError> {
    let table = parse(text)?;
    let mut v = datasets_from_tables(&[&table], spec).map_err(|e| e.1)?;
    v.pop().ok_or(CsvError::Empty)
}
