//! Reading a user's file inside the worker, in steps. The page posts the browser's
//! `File` handle, not its text, so the page's thread never copies the file; the
//! worker reads it in [`SLICE`]-byte slices, then parses it some records at a time
//! ([`CsvParser`]), reporting progress between steps and stopping at a Cancel. Units of
//! progress are bytes: the bytes read plus the bytes parsed, out of twice the size.
//! There is no mathematics here.

use crate::engine::data::csv::{CsvParser, CsvTable, MAX_BYTES};
use crate::said::Said;
use crate::text::Text;

/// Bytes read from the file in one go.
pub const SLICE: usize = 1 << 20;

/// Records parsed between two looks at the clock.
const RECORDS: usize = 2_000;

/// Where the bytes of a file come from: a browser `File` in the worker, bytes in
/// memory in native tests.
pub trait FileSource {
    /// Size in bytes.
    fn size(&self) -> usize;
    /// The bytes `from..to` (`to` at most [`FileSource::size`]), or why they could
    /// not be read.
    fn read(&mut self, from: usize, to: usize) -> Result<Vec<u8>, String>;
    /// Every byte, handed over without a copy, when they are in memory already.
    fn take_all(&mut self) -> Option<Vec<u8>> {
        None
    }
}

impl FileSource for Vec<u8> {
    fn size(&self) -> usize {
        self.len()
    }

    fn take_all(&mut self) -> Option<Vec<u8>> {
        Some(std::mem::take(self))
    }

    fn read(&mut self, from: usize, to: usize) -> Result<Vec<u8>, String> {
        self.get(from..to).map(<[u8]>::to_vec).ok_or_else(|| format!("no bytes {from}..{to}"))
    }
}

enum Stage {
    Reading { source: Box<dyn FileSource>, bytes: Vec<u8> },
    Parsing(CsvParser),
}

/// A file being read and parsed.
pub struct FileRead {
    job: u64,
    name: String,
    stage: Stage,
    size: usize,
}

/// What a step did.
pub enum ReadStep {
    /// More to do: bytes done of all.
    Running {
        /// Units done.
        done: usize,
        /// Units in all.
        total: usize,
    },
    /// The file's table, or why it could not be read (in the page's words).
    Done(Result<CsvTable, Said>),
}

/// "name: the file is 60 MB; the limit is 50 MB": the page says it before posting a
/// file, the worker before reading one.
pub fn file_too_big(name: &str, size: usize) -> Said {
    let mb = |b: usize| format!("{:.0}", b as f64 / (1024.0 * 1024.0));
    Said::new(Text::FileTooBig).with("name", name).with("size", mb(size)).with("limit", mb(MAX_BYTES))
}

impl FileRead {
    /// Start reading `source`, named `name` in messages, for job `job`; a file over
    /// [`MAX_BYTES`] is refused before any byte is read.
    pub fn start(job: u64, name: String, source: Box<dyn FileSource>) -> Result<Self, Said> {
        let size = source.size();
        if size > MAX_BYTES {
            return Err(file_too_big(&name, size));
        }
        let stage = Stage::Reading { source, bytes: Vec::with_capacity(size) };
        Ok(Self { job, name, stage, size })
    }

    /// The job's id.
    pub fn job(&self) -> u64 {
        self.job
    }

    /// The file's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Units in all: the size, read and then parsed.
    pub fn total(&self) -> usize {
        (2 * self.size).max(1)
    }

    fn done(&self) -> usize {
        match &self.stage {
            Stage::Reading { bytes, .. } => bytes.len(),
            Stage::Parsing(p) => self.size + p.position().0,
        }
    }

    /// Work until `clock()` passes `deadline` or the file is read.
    pub fn step(&mut self, clock: fn() -> f64, deadline: f64) -> ReadStep {
        loop {
            if let Some(result) = self.advance() {
                return ReadStep::Done(result);
            }
            if clock() >= deadline {
                return ReadStep::Running { done: self.done(), total: self.total() };
            }
        }
    }

    /// One slice or one batch of records: the end, if this was it.
    fn advance(&mut self) -> Option<Result<CsvTable, Said>> {
        match &mut self.stage {
            Stage::Reading { source, bytes } => {
                if bytes.is_empty() {
                    if let Some(all) = source.take_all().filter(|all| all.len() == self.size) {
                        *bytes = all;
                    }
                }
                let from = bytes.len();
                let to = (from + SLICE).min(self.size);
                if from < to {
                    match source.read(from, to) {
                        Ok(slice) if slice.len() == to - from => bytes.extend_from_slice(&slice),
                        _ => return Some(Err(Said::new(Text::FileUnreadable).with("name", &self.name))),
                    }
                }
                if bytes.len() == self.size {
                    match CsvParser::new(std::mem::take(bytes)) {
                        Ok(parser) => self.stage = Stage::Parsing(parser),
                        Err(e) => return Some(Err(e.said_in(&self.name))),
                    }
                }
                None
            }
            Stage::Parsing(parser) => match parser.step(RECORDS) {
                Ok(None) => None,
                Ok(Some(table)) => Some(Ok(table)),
                Err(e) => Some(Err(e.said_in(&self.name))),
            },
        }
    }
}
