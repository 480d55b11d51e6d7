//! Choosing the columns and rows of an uploaded table before it becomes a dataset:
//! columns the user leaves out, text columns (skipped as features, with a notice;
//! one may name the rows), and rows with missing cells (dropped, and counted, when
//! the user asks). Every kept row keeps its name: its CSV line, or its value in the
//! chosen ID column.
//!
//! A cell is missing when it is empty or one of the usual markers ([`MISSING`]); a
//! column is text when one of its other cells is not a finite number.

use super::csv::{finite_number, shown, CsvError, CsvTable};
use serde::{Deserialize, Serialize};

/// Cells that mean "no value" (compared without case).
pub const MISSING: [&str; 7] = ["", "na", "n/a", "nan", "null", "none", "?"];

/// What the user chose for an uploaded table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UploadOptions {
    /// The target column.
    pub target: String,
    /// Columns left out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// A column whose values name the rows (never a feature).
    #[serde(default)]
    pub id_column: Option<String>,
    /// Drop rows with a missing cell in a used column instead of refusing the file.
    #[serde(default)]
    pub drop_missing: bool,
}

/// How a row is named wherever it appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowName {
    /// Its 1-based line in the uploaded file.
    Line(usize),
    /// Its value in the ID column (and its line).
    Id(String, usize),
    /// Its 1-based row in a built-in dataset.
    Row(usize),
}

impl std::fmt::Display for RowName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowName::Line(l) => write!(f, "line {l}"),
            RowName::Id(id, l) => write!(f, "“{id}”, line {l}"),
            RowName::Row(r) => write!(f, "row {r}"),
        }
    }
}

/// A table ready for [`super::csv::datasets_from_tables`], with what was done to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen<'a> {
    /// The kept rows (the table itself when every row is kept).
    pub table: std::borrow::Cow<'a, CsvTable>,
    /// Every column that is not a feature (left out, text, the ID column).
    pub exclude: Vec<String>,
    /// Text columns skipped, each with the first non-number found (`line`, text).
    pub text_columns: Vec<(String, usize, String)>,
    /// Rows dropped for a missing cell.
    pub dropped: usize,
    /// The name of every kept row.
    pub names: Vec<RowName>,
    /// The position in the original table of every kept row.
    pub kept: Vec<usize>,
}

/// Whether `cell` means "no value".
pub fn is_missing(cell: &str) -> bool {
    let t = cell.trim();
    MISSING.iter().any(|m| t.eq_ignore_ascii_case(m))
}

/// Apply `opts` to `table`.
pub fn choose<'a>(table: &'a CsvTable, opts: &UploadOptions) -> Result<Chosen<'a>, CsvError> {
    let position = |name: &str| table.headers.iter().position(|h| h == name);
    for name in opts.exclude.iter().chain(&opts.id_column) {
        if position(name).is_none() {
            return Err(CsvError::ExcludedNotFound { name: name.clone() });
        }
    }
    let target = position(&opts.target).ok_or_else(|| CsvError::TargetNotFound {
        name: opts.target.clone(),
        available: table.headers.join(", "),
    })?;
    let id = opts.id_column.as_deref().and_then(position);
    let mut exclude: Vec<String> = opts.exclude.clone();
    exclude.extend(opts.id_column.iter().filter(|c| **c != opts.target).cloned());
    // Text columns: a cell that is neither missing nor a finite number. One pass over
    // the rows (each row's cells lie together in memory), every candidate column at
    // once; a column leaves the pass at its first text cell.
    let mut open: Vec<usize> =
        (0..table.headers.len()).filter(|&c| c != target && !exclude.contains(&table.headers[c])).collect();
    let mut first_text: Vec<(usize, usize, String)> = Vec::new();
    for (i, r) in table.rows().enumerate() {
        if open.is_empty() {
            break;
        }
        // Most rows are numbers in every open column: one look at the row's numbers.
        let numbers = table.row_numbers(i);
        if open.iter().all(|&c| numbers.get(c).is_some_and(|v| !v.is_nan())) {
            continue;
        }
        open.retain(|&c| {
            if table.number(i, c).is_some() {
                return true;
            }
            let cell = r.cell(c).unwrap_or("").trim();
            let text = finite_number(cell).is_none() && !is_missing(cell);
            if text {
                first_text.push((c, r.line(), shown(cell)));
            }
            !text
        });
    }
    first_text.sort_by_key(|t| t.0);
    let mut text_columns = Vec::new();
    for (c, line, text) in first_text {
        let name = table.headers[c].clone();
        exclude.push(name.clone());
        text_columns.push((name, line, text));
    }
    let used: Vec<usize> =
        (0..table.headers.len()).filter(|&c| c == target || !exclude.contains(&table.headers[c])).collect();
    let kept: Vec<usize> = table
        .rows()
        .enumerate()
        .filter(|(i, row)| {
            // A number is never missing: only the other cells are looked at as text.
            !(opts.drop_missing
                && used
                    .iter()
                    .any(|&c| table.number(*i, c).is_none() && is_missing(row.cell(c).unwrap_or(""))))
        })
        .map(|(i, _)| i)
        .collect();
    let dropped = table.n_rows() - kept.len();
    if kept.is_empty() {
        return Err(CsvError::NoRows);
    }
    let kept_table = match dropped {
        0 => std::borrow::Cow::Borrowed(table),
        _ => std::borrow::Cow::Owned(table.keep_rows(&kept)),
    };
    let names = kept_table
        .rows()
        .map(|r| match id.and_then(|c| r.cell(c)).map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => RowName::Id(shown(v), r.line()),
            None => RowName::Line(r.line()),
        })
        .collect();
    Ok(Chosen { table: kept_table, exclude, text_columns, dropped, names, kept })
}
