//! The CSV reader: every bad input is a clear error naming the line, never a panic;
//! and the accepted dialects parse to the same numbers.

use attribution_explorer::engine::data::csv::{
    datasets_from_tables, parse, parse_bytes, read_dataset, ColumnSpec, CsvError, TargetKind, MAX_BYTES,
    MAX_COLUMNS, MAX_ROWS,
};
use attribution_explorer::engine::data::Target;

fn spec(target: &str) -> ColumnSpec {
    ColumnSpec { target: target.into(), exclude: vec![], kind: TargetKind::Auto }
}

fn err(text: &str, target: &str) -> CsvError {
    match read_dataset(text, &spec(target)) {
        Ok(d) => panic!("expected an error, got {} rows", d.n()),
        Err(e) => e,
    }
}

#[test]
fn empty_file() {
    assert_eq!(err("", "y"), CsvError::Empty);
    assert_eq!(err(" \n\n", "y"), CsvError::Empty);
}

#[test]
fn header_only() {
    let e = err("a,b,y\n", "y");
    assert_eq!(e, CsvError::HeaderOnly);
    assert!(e.to_string().contains("line 1"));
}

#[test]
fn duplicate_and_empty_header_names() {
    let e = err("a,b,a,y\n1,2,3,0\n", "y");
    assert_eq!(e, CsvError::DuplicateHeader { name: "a".into(), column: 3, first: 1 });
    assert!(e.to_string().starts_with("line 1, column 3"), "{e}");
    let e = err("a,,y\n1,2,0\n", "y");
    assert_eq!(e, CsvError::EmptyHeader { column: 2 });
    assert!(e.to_string().contains("line 1"));
}

#[test]
fn ragged_row() {
    let e = err("a,b,y\n1,2,0\n1,2\n", "y");
    assert_eq!(e, CsvError::RaggedRow { line: 3, expected: 3, found: 2 });
    assert!(e.to_string().contains("line 3"), "{e}");
}

#[test]
fn non_numeric_cell() {
    let e = err("a,b,y\n1,2,0\n1,abc,1\n", "y");
    assert_eq!(e, CsvError::NonNumeric { line: 3, column: 2, name: "b".into(), text: "abc".into() });
    assert!(e.to_string().contains("line 3") && e.to_string().contains("\"abc\""), "{e}");
}

#[test]
fn missing_cell() {
    let e = err("a,b,y\n1,2,0\n1,,1\n", "y");
    assert_eq!(e, CsvError::MissingCell { line: 3, column: 2, name: "b".into(), text: String::new() });
    assert!(e.to_string().contains("line 3"));
    let e = err("a,b,y\n1,2,0\n1,3,\n", "y");
    assert_eq!(e, CsvError::MissingCell { line: 3, column: 3, name: "y".into(), text: String::new() });
}

#[test]
fn nan_and_infinite_values() {
    for bad in ["NaN", "inf", "-Infinity"] {
        let e = err(&format!("a,b,y\n1,2,0\n4,{bad},1\n"), "y");
        assert_eq!(e, CsvError::NonFinite { line: 3, column: 2, name: "b".into(), text: bad.into() });
        assert!(e.to_string().contains("line 3"));
    }
}

#[test]
fn target_not_found() {
    let e = err("a,b,y\n1,2,0\n", "label");
    assert_eq!(e, CsvError::TargetNotFound { name: "label".into(), available: "a, b, y".into() });
    assert!(e.to_string().contains("a, b, y"));
}

#[test]
fn single_class_target() {
    let e = err("a,y\n1,cat\n2,cat\n", "y");
    assert_eq!(e, CsvError::SingleClass { name: "y".into(), class: "cat".into() });
    let spec = ColumnSpec { target: "y".into(), exclude: vec![], kind: TargetKind::Classes };
    assert!(matches!(read_dataset("a,y\n1,0\n2,0\n", &spec), Err(CsvError::SingleClass { .. })));
}

#[test]
fn unclosed_quote() {
    let e = err("a,y\n1,0\n\"2,1\n3,0\n", "y");
    assert_eq!(e, CsvError::UnclosedQuote { line: 3 });
}

#[test]
fn row_column_and_size_limits() {
    let mut text = String::from("a,y\n");
    for i in 0..=MAX_ROWS {
        text.push_str(&format!("{i},{}\n", i % 2));
    }
    assert_eq!(parse(&text), Err(CsvError::TooManyRows { limit: MAX_ROWS }));
    let header: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect();
    let e = parse(&format!("{}\n", header.join(",")));
    assert_eq!(e, Err(CsvError::TooManyColumns { found: MAX_COLUMNS + 1, limit: MAX_COLUMNS }));
    assert!(e.err().map(|e| e.to_string()).unwrap_or_default().contains(&MAX_COLUMNS.to_string()));
    let big = vec![b'1'; MAX_BYTES + 1];
    assert_eq!(parse_bytes(&big), Err(CsvError::TooLarge { found: MAX_BYTES + 1, limit: MAX_BYTES }));
    assert_eq!(parse_bytes(&[b'a', 0xff, b'\n']), Err(CsvError::NotUtf8 { offset: 1 }));
}

#[test]
fn dialects_parse_to_the_same_dataset() {
    let plain = read_dataset("a,b,y\n1.5,2,no\n3,4,yes\n", &spec("y")).expect("plain CSV");
    let variants = [
        "\u{feff}a;b;y\r\n1.5;2;no\r\n3;4;yes\r\n\r\n\n",
        "a\tb\ty\n1.5\t2\tno\n3\t4\tyes\n",
        "\"a\",\"b\",\"y\"\n\"1.5\",2,\"no\"\n3,4,yes",
    ];
    for v in variants {
        assert_eq!(read_dataset(v, &spec("y")).expect("variant parses"), plain, "{v:?}");
    }
    assert_eq!(plain.target, Target::Classes { names: vec!["no".into(), "yes".into()] });
}

#[test]
fn quoted_fields_keep_delimiters_quotes_and_newlines() {
    let t = parse("name,y\n\"a, \"\"b\"\"\nc\",1\nd,0\n").expect("parses");
    let (first, second) = (t.row(0).expect("a first row"), t.row(1).expect("a second row"));
    assert_eq!(first.cell(0), Some("a, \"b\"\nc"));
    assert_eq!((first.line(), second.line()), (2, 4));
}

#[test]
fn numeric_classes_sorted_numerically_and_union_over_files() {
    let train = parse("x,y\n1,10\n2,2\n3,10\n").expect("parses");
    let test = parse("x,y\n1,7\n").expect("parses");
    let s = ColumnSpec { target: "y".into(), exclude: vec![], kind: TargetKind::Classes };
    let v = datasets_from_tables(&[&train, &test], &s).expect("builds");
    assert_eq!(v[0].target, Target::Classes { names: vec!["2".into(), "7".into(), "10".into()] });
    assert_eq!(v[0].y, vec![2.0, 0.0, 2.0]);
    assert_eq!(v[1].y, vec![1.0]);
}

#[test]
fn excluded_columns_are_dropped_and_checked() {
    let s = ColumnSpec { target: "y".into(), exclude: vec!["id".into()], kind: TargetKind::Auto };
    let d = read_dataset("id,a,y\nx1,1,0\nx2,2,1\n", &s).expect("id is excluded, so text is fine");
    assert_eq!(d.feature_names, vec!["a".to_string()]);
    let s = ColumnSpec { target: "y".into(), exclude: vec!["nope".into()], kind: TargetKind::Auto };
    assert_eq!(read_dataset("a,y\n1,0\n", &s), Err(CsvError::ExcludedNotFound { name: "nope".into() }));
}

#[test]
fn a_parse_in_steps_is_the_parse_in_one_piece() {
    use attribution_explorer::engine::data::csv::CsvParser;
    let mut text = String::from("\u{feff}a;b;\"c\"\n");
    for i in 0..5_000 {
        text += &format!("{i};\"{}\nx\";{}\n\n", i % 3, i % 2);
    }
    let whole = parse(&text).expect("parses");
    let mut parser = CsvParser::new(text.clone().into_bytes()).expect("starts");
    let (mut steps, mut last) = (0, 0);
    let stepped = loop {
        steps += 1;
        let (at, total) = parser.position();
        assert!(
            at >= last && total == text.len() - 3,
            "bytes read move forward within the text: {at} of {total}"
        );
        last = at;
        if let Some(table) = parser.step(700).expect("parses") {
            break table;
        }
    };
    assert_eq!(stepped, whole);
    // 700 records a step: 5,000 rows and a header (the tokenizer skips blank lines).
    assert_eq!(steps, 5_001_usize.div_ceil(700));
}

/// Each field is read as a number once per file, and that reading is `finite_number`'s:
/// plain and scientific numbers, nothing for text, markers of a missing value,
/// infinities or a place outside the table; the features built from it are those
/// numbers, and a later training of the same table reads them again unchanged.
#[test]
fn every_field_is_read_as_a_number_once_and_as_finite_number_reads_it() {
    use attribution_explorer::engine::data::csv::finite_number;
    let table = parse("a,b,c,y\n1.5,-2e3,x,1\n NA ,inf,0.25,0\n").expect("parses");
    for (r, rec) in table.rows().enumerate() {
        for c in 0..4 {
            assert_eq!(table.number(r, c), rec.cell(c).and_then(finite_number), "row {r}, column {c}");
        }
    }
    assert_eq!(
        (table.number(0, 0), table.number(0, 1), table.number(0, 2)),
        (Some(1.5), Some(-2000.0), None)
    );
    assert_eq!((table.number(1, 0), table.number(1, 1)), (None, None), "a missing marker, an infinity");
    assert_eq!((table.number(2, 0), table.number(0, 4)), (None, None), "outside the table");
    let numbers = parse("a,y\n0.25,1\n1e-3,0\n-7,1\n").expect("parses");
    let first = datasets_from_tables(&[&numbers], &spec("y")).expect("numeric");
    assert_eq!(first[0].x.column(0).to_vec(), vec![0.25, 0.001, -7.0]);
    assert_eq!(first, datasets_from_tables(&[&numbers], &spec("y")).expect("numeric"), "read again");
}

/// Keeping some rows (the page drops rows with a missing cell) keeps their fields,
/// lines and numbers as the whole file read them, in the order asked.
#[test]
fn kept_rows_are_the_rows_as_read() {
    let table = parse("a,b,y\n1,x,0\n\"2\n\",NA,1\n3.5,-1e2,0\n").expect("parses");
    let kept = table.keep_rows(&[2, 0]);
    assert_eq!(kept.n_rows(), 2);
    for (k, r) in [(0, 2), (1, 0)] {
        let (a, b) = (kept.row(k).expect("a kept row"), table.row(r).expect("its original"));
        assert_eq!((a.line(), a.cells().collect::<Vec<_>>()), (b.line(), b.cells().collect()));
        for c in 0..3 {
            assert_eq!(kept.number(k, c), table.number(r, c), "row {k}, column {c}");
        }
    }
    assert_eq!(table.row(1).map(|r| (r.line(), r.cell(0))), Some((3, Some("2\n"))));
    assert_eq!((kept.number(0, 1), kept.number(1, 0)), (Some(-100.0), Some(1.0)));
    assert_eq!(kept.keep_rows(&[1, 0]), table.keep_rows(&[0, 2]));
    assert!(kept.row(2).is_none() && kept.row(0).and_then(|r| r.cell(3)).is_none());
}

/// A row's line is where it starts, after any blank lines before it, with `\n`, `\r\n`
/// or a lone `\r` ending a line (the tokenizer used to give the line where the row
/// before it ended); the same with quotes in the file.
#[test]
fn rows_after_blank_lines_name_their_own_lines() {
    for header in ["a,y", "\"a\",y"] {
        let t = parse(&format!("{header}\n1,0\n\n\n2,1\r\n\r\n3,0\n \n4,1")).expect("parses");
        let lines: Vec<usize> = t.rows().map(|r| r.line()).collect();
        assert_eq!(lines, vec![2, 5, 7, 9], "{header}");
        let ragged = parse(&format!("{header}\n1,0\n\n\n2\n"));
        assert_eq!(ragged, Err(CsvError::RaggedRow { line: 5, expected: 2, found: 1 }), "{header}");
    }
}
