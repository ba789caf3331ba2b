//! Reading a participants CSV file: UTF-8 (a BOM is dropped), RFC 4180
//! quoting, a header row naming the columns in any order. The file is
//! turned into numbered rows here; enrolling them is a service's job.

use super::FieldError;

/// Data rows one file may hold; a larger file is refused whole, so that an
/// import either runs completely or not at all.
pub const MAX_ROWS: usize = 10_000;

/// The columns an import understands.
const EMAIL: &str = "email";
const NAME: &str = "name";
const EXTERNAL_ID: &str = "external_id";
const TIMEZONE: &str = "timezone";
const KNOWN: [&str; 4] = [EMAIL, NAME, EXTERNAL_ID, TIMEZONE];

/// Why a whole file is refused (as opposed to one of its rows).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the file is empty; the first row must name the columns, e.g. email,name,external_id,timezone")]
    Empty,
    #[error("the file is not UTF-8 text (line {line}); save it as “CSV UTF-8” and try again")]
    NotUtf8 { line: usize },
    #[error("the header row has no “email” column; name the columns in the first row, e.g. email,name,external_id")]
    MissingEmailColumn,
    #[error("the header row names the column “{0}” twice")]
    DuplicateColumn(String),
    #[error("a quoted value that starts on line {line} is never closed")]
    UnclosedQuote { line: usize },
    #[error("the file has more than {max} rows; split it into smaller files", max = MAX_ROWS)]
    TooManyRows,
}

/// The values of one row, untrimmed and unchecked; `EnrolInput::parse`
/// checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowValues {
    pub email: String,
    pub name: Option<String>,
    pub external_id: Option<String>,
    pub timezone: Option<String>,
}

/// One data row and the line of the file it starts on (the header is
/// line 1), so that a report can point a person at it in their editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    pub line: usize,
    /// The values as read; kept for a malformed row too, so that its report
    /// still shows whose row it was.
    pub values: RowValues,
    /// Why the row cannot be read as one participant, if it cannot.
    pub problem: Option<FieldError>,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvFile {
    pub rows: Vec<CsvRow>,
    /// Header names this import does not use; shown so that a misspelt
    /// column ("e-mail name") does not go unnoticed.
    pub ignored_columns: Vec<String>,
}

/// Where each known column sits in a row.
#[derive(Debug, Default)]
struct Columns {
    email: usize,
    name: Option<usize>,
    external_id: Option<usize>,
    timezone: Option<usize>,
    count: usize,
}

/// `External ID`, ` external-id ` and `EXTERNAL_ID` all name `external_id`.
fn column_key(raw: &str) -> String {
    raw.trim().to_lowercase().replace([' ', '-'], "_")
}

impl Columns {
    fn from_header(header: &[String]) -> Result<(Self, Vec<String>), CsvError> {
        let mut found: [Option<usize>; 4] = [None; 4];
        let mut ignored = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            let key = column_key(raw);
            match KNOWN.iter().position(|k| *k == key) {
                Some(k) if found[k].is_some() => return Err(CsvError::DuplicateColumn(KNOWN[k].into())),
                Some(k) => found[k] = Some(i),
                None if key.is_empty() => {}
                None => ignored.push(raw.trim().to_string()),
            }
        }
        let email = found[0].ok_or(CsvError::MissingEmailColumn)?;
        let columns = Columns { email, name: found[1], external_id: found[2], timezone: found[3], count: header.len() };
        Ok((columns, ignored))
    }

    fn values(&self, record: &mut [String]) -> RowValues {
        let mut take = |i: Option<usize>| i.and_then(|i| record.get_mut(i)).map(std::mem::take);
        RowValues {
            email: take(Some(self.email)).unwrap_or_default(),
            name: take(self.name),
            external_id: take(self.external_id),
            timezone: take(self.timezone),
        }
    }
}

/// Reads a participants file.
pub fn parse(bytes: &[u8]) -> Result<CsvFile, CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| CsvError::NotUtf8 {
        line: 1 + bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count(),
    })?;
    let mut records = Records::new(text);
    let header = loop {
        match records.next().transpose()? {
            None => return Err(CsvError::Empty),
            Some(r) if r.is_blank() => continue,
            Some(r) => break r,
        }
    };
    let (columns, ignored_columns) = Columns::from_header(&header.cells)?;
    let mut rows = Vec::new();
    for record in records {
        let mut record = record?;
        if record.is_blank() {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(CsvError::TooManyRows);
        }
        let problem = if record.stray_quote {
            Some(FieldError::new(
                "row",
                "a quoted value has text after its closing quote; write a quote inside quotes as \"\"",
            ))
        } else if record.cells.len() > columns.count
            && record.cells[columns.count..].iter().any(|c| !c.trim().is_empty())
        {
            Some(FieldError::new(
                "row",
                format!("this row has {} values but the header names {} columns", record.cells.len(), columns.count),
            ))
        } else {
            None
        };
        rows.push(CsvRow { line: record.line, values: columns.values(&mut record.cells), problem });
    }
    Ok(CsvFile { rows, ignored_columns })
}

/// One record of the file as read.
#[derive(Debug)]
struct Record {
    line: usize,
    cells: Vec<String>,
    /// Text followed a closing quote (`"ab"c`): the row is refused rather
    /// than guessed at.
    stray_quote: bool,
}

impl Record {
    /// Empty lines and rows of only separators (`,,,`, as spreadsheets
    /// export trailing rows) carry nothing.
    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }
}

/// An iterator over the records of a CSV text. The separator is a comma,
/// unless the first line has none and has semicolons or tabs (spreadsheets
/// in many locales export those).
struct Records<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    separator: char,
}

impl<'a> Records<'a> {
    fn new(text: &'a str) -> Self {
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let separator = if first.contains(',') {
            ','
        } else if first.contains(';') {
            ';'
        } else if first.contains('\t') {
            '\t'
        } else {
            ','
        };
        Self { chars: text.chars().peekable(), line: 1, separator }
    }

    /// Consumes a line ending (`\n`, `\r\n` or a lone `\r`) after `c`.
    fn end_of_line(&mut self, c: char) -> bool {
        match c {
            '\n' => true,
            '\r' => {
                self.chars.next_if_eq(&'\n');
                true
            }
            _ => false,
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Result<Record, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.chars.peek()?;
        let start = self.line;
        let mut record = Record { line: start, cells: Vec::new(), stray_quote: false };
        let mut cell = String::new();
        // Whether the current cell began with a quote and it is still open.
        let mut quoted = false;
        // Whether the current cell has had its closing quote.
        let mut closed = false;
        while let Some(c) = self.chars.next() {
            if quoted {
                match c {
                    '"' if self.chars.next_if_eq(&'"').is_some() => cell.push('"'),
                    '"' => {
                        quoted = false;
                        closed = true;
                    }
                    c => {
                        if c == '\n' || (c == '\r' && self.chars.peek() != Some(&'\n')) {
                            self.line += 1;
                        }
                        cell.push(c);
                    }
                }
                continue;
            }
            if c == self.separator {
                record.cells.push(std::mem::take(&mut cell));
                closed = false;
            } else if self.end_of_line(c) {
                self.line += 1;
                record.cells.push(cell);
                return Some(Ok(record));
            } else if c == '"' && cell.trim().is_empty() && !closed {
                // Spaces before an opening quote are dropped, as most
                // spreadsheets write `a, "b"`.
                cell.clear();
                quoted = true;
            } else {
                if closed && !c.is_whitespace() {
                    record.stray_quote = true;
                }
                if !closed {
                    cell.push(c);
                }
            }
        }
        if quoted {
            return Some(Err(CsvError::UnclosedQuote { line: start }));
        }
        record.cells.push(cell);
        Some(Ok(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(file: &CsvFile) -> Vec<(usize, RowValues)> {
        file.rows
            .iter()
            .map(|r| {
                assert_eq!(r.problem, None, "line {} reads", r.line);
                (r.line, r.values.clone())
            })
            .collect()
    }

    fn row(email: &str, name: Option<&str>, external_id: Option<&str>, timezone: Option<&str>) -> RowValues {
        RowValues {
            email: email.into(),
            name: name.map(Into::into),
            external_id: external_id.map(Into::into),
            timezone: timezone.map(Into::into),
        }
    }

    #[test]
    fn columns_are_found_in_any_order_and_case() {
        let file = parse(b" Name ,EMAIL,Timezone,External ID\r\nAnn,ann@example.com,Europe/Berlin,crm-1\r\n").unwrap();
        assert_eq!(values(&file), vec![(2, row("ann@example.com", Some("Ann"), Some("crm-1"), Some("Europe/Berlin")))]);
        assert!(file.ignored_columns.is_empty());
    }

    #[test]
    fn only_the_email_column_is_required() {
        let file = parse(b"email\nann@example.com\n").unwrap();
        assert_eq!(values(&file), vec![(2, row("ann@example.com", None, None, None))]);
    }

    #[test]
    fn a_file_without_an_email_column_is_refused() {
        assert_eq!(parse(b"name,external_id\nAnn,1\n"), Err(CsvError::MissingEmailColumn));
        assert_eq!(parse(b"e_mail,name\nann@example.com,Ann\n"), Err(CsvError::MissingEmailColumn));
    }

    #[test]
    fn empty_files_and_duplicate_columns_are_refused() {
        assert_eq!(parse(b""), Err(CsvError::Empty));
        assert_eq!(parse(b"\n\r\n"), Err(CsvError::Empty));
        assert_eq!(parse(b"\xEF\xBB\xBF"), Err(CsvError::Empty));
        assert_eq!(parse(b"email,Email\n"), Err(CsvError::DuplicateColumn("email".into())));
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let file = parse(b"\xEF\xBB\xBFemail,name\nann@example.com,Ann\n").unwrap();
        assert_eq!(values(&file), vec![(2, row("ann@example.com", Some("Ann"), None, None))]);
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_with_its_line() {
        assert_eq!(
            parse(b"email,name\nann@example.com,Ann\nbo@example.com,Bj\xF6rn\n"),
            Err(CsvError::NotUtf8 { line: 3 })
        );
    }

    #[test]
    fn quoted_values_keep_separators_quotes_and_newlines() {
        let csv = "email,name\n\"ann@example.com\",\"Doe, Ann \"\"Annie\"\"\"\nbo@example.com,\"Bo\nBo\"\ncy@example.com,Cy\n";
        let file = parse(csv.as_bytes()).unwrap();
        assert_eq!(
            values(&file),
            vec![
                (2, row("ann@example.com", Some("Doe, Ann \"Annie\""), None, None)),
                (3, row("bo@example.com", Some("Bo\nBo"), None, None)),
                // The quoted newline moved the next row to line 5.
                (5, row("cy@example.com", Some("Cy"), None, None)),
            ]
        );
    }

    #[test]
    fn an_unclosed_quote_names_the_line_it_opens_on() {
        assert_eq!(
            parse(b"email,name\nann@example.com,\"Ann\nbo@example.com,Bo\n"),
            Err(CsvError::UnclosedQuote { line: 2 })
        );
    }

    #[test]
    fn text_after_a_closing_quote_refuses_only_that_row() {
        let file = parse(b"email,name\nann@example.com,\"Ann\"x\nbo@example.com,Bo\n").unwrap();
        assert_eq!(file.rows.len(), 2);
        assert_eq!(file.rows[0].problem.as_ref().map(|p| p.field.as_str()), Some("row"));
        assert_eq!(file.rows[0].values.email, "ann@example.com", "the report can still say whose row it was");
        assert_eq!(file.rows[1].problem, None);
    }

    #[test]
    fn blank_lines_and_separator_only_rows_are_skipped_and_lines_still_count() {
        let file = parse(b"\nemail,name\n\nann@example.com,Ann\n,\n  \nbo@example.com,Bo").unwrap();
        assert_eq!(
            values(&file),
            vec![
                (4, row("ann@example.com", Some("Ann"), None, None)),
                (7, row("bo@example.com", Some("Bo"), None, None))
            ]
        );
    }

    #[test]
    fn short_rows_lack_values_and_long_rows_are_refused() {
        let file =
            parse(b"email,name,timezone\nann@example.com\nbo@example.com,Bo,UTC,extra\ncy@example.com,Cy,UTC,\n")
                .unwrap();
        assert_eq!(file.rows[0].values, row("ann@example.com", None, None, None));
        assert_eq!(file.rows[0].problem, None);
        let long = file.rows[1].problem.as_ref().expect("a long row is refused");
        assert_eq!(long.field, "row");
        assert!(long.message.contains("4 values"), "{}", long.message);
        // A trailing empty cell is what spreadsheets add; it is no reason to refuse.
        assert_eq!(file.rows[2].problem, None);
    }

    #[test]
    fn unknown_columns_are_reported_and_ignored() {
        let file = parse(b"email,company,,e-mail\nann@example.com,Acme,,x\n").unwrap();
        assert_eq!(file.ignored_columns, vec!["company".to_string(), "e-mail".to_string()]);
        assert_eq!(values(&file), vec![(2, row("ann@example.com", None, None, None))]);
    }

    #[test]
    fn semicolon_and_tab_separated_files_are_read() {
        let semi = parse(b"email;name\nann@example.com;Doe, Ann\n").unwrap();
        assert_eq!(values(&semi), vec![(2, row("ann@example.com", Some("Doe, Ann"), None, None))]);
        let tab = parse(b"email\tname\nann@example.com\tAnn\n").unwrap();
        assert_eq!(values(&tab), vec![(2, row("ann@example.com", Some("Ann"), None, None))]);
    }

    #[test]
    fn old_mac_line_endings_are_read() {
        let file = parse(b"email,name\rann@example.com,Ann\rbo@example.com,Bo").unwrap();
        assert_eq!(file.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn more_than_the_row_limit_is_refused_and_the_limit_itself_is_not() {
        let mut csv = String::from("email\n");
        for i in 0..MAX_ROWS {
            csv.push_str(&format!("p{i}@example.com\n"));
        }
        assert_eq!(parse(csv.as_bytes()).unwrap().rows.len(), MAX_ROWS);
        csv.push_str("one-more@example.com\n");
        assert_eq!(parse(csv.as_bytes()), Err(CsvError::TooManyRows));
    }
}
