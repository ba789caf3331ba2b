//! Writing CSV for spreadsheets (RFC 4180: commas, CRLF, quotes doubled),
//! with text cells that a spreadsheet would run as a formula defused.
//! Every CSV export of the admin writes through it (rewards, referrals, a
//! program's participants, the audit log) and is answered by [`download`].

/// One cell of a row.
pub enum Cell<'a> {
    /// Text that came from people or other systems: quoted as needed and
    /// kept from being read as a formula.
    Text(&'a str),
    /// A number we produced; written as it is.
    Number(i64),
    Empty,
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(s: &'a str) -> Self {
        Cell::Text(s)
    }
}

impl<'a> From<&'a String> for Cell<'a> {
    fn from(s: &'a String) -> Self {
        Cell::Text(s)
    }
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(s: Option<&'a str>) -> Self {
        s.map(Cell::Text).unwrap_or(Cell::Empty)
    }
}

impl From<Option<i64>> for Cell<'_> {
    fn from(n: Option<i64>) -> Self {
        n.map(Cell::Number).unwrap_or(Cell::Empty)
    }
}

/// The answer of an export: `body` as a CSV file named `filename`. The
/// files hold names and email addresses: never kept by shared caches.
pub fn download(filename: &str, body: String) -> actix_web::HttpResponse {
    use actix_web::http::header;
    actix_web::HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// Appends one row, ended by CRLF.
pub fn write_row(out: &mut String, cells: &[Cell<'_>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match cell {
            Cell::Text(text) => write_text(out, text),
            Cell::Number(n) => out.push_str(&n.to_string()),
            Cell::Empty => {}
        }
    }
    out.push_str("\r\n");
}

/// A cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage
/// return, which some spreadsheets skip before one of those) runs as a
/// formula when the file is opened: a referee named `=HYPERLINK(…)` must
/// not become a link in the marketer's spreadsheet. A leading `'` makes
/// it text (OWASP's advice for CSV injection).
fn write_text(out: &mut String, text: &str) {
    let defused = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let needs_quotes = defused || text.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push('"');
    }
    if defused {
        out.push('\'');
    }
    for c in text.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if needs_quotes {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[Cell<'_>]) -> String {
        let mut out = String::new();
        write_row(&mut out, cells);
        out
    }

    #[test]
    fn plain_cells_are_written_as_they_are_and_rows_end_with_crlf() {
        assert_eq!(row(&[Cell::Text("spring"), Cell::Number(2000), Cell::Empty, Cell::Text("")]), "spring,2000,,\r\n");
    }

    #[test]
    fn separators_quotes_and_line_breaks_are_quoted() {
        assert_eq!(
            row(&[Cell::Text("Lee, Ann"), Cell::Text("say \"hi\""), Cell::Text("a\nb")]),
            "\"Lee, Ann\",\"say \"\"hi\"\"\",\"a\nb\"\r\n"
        );
    }

    #[test]
    fn cells_that_would_run_as_formulas_become_text() {
        assert_eq!(row(&[Cell::Text("=1+2")]), "\"'=1+2\"\r\n");
        assert_eq!(row(&[Cell::Text("+49 30 1234")]), "\"'+49 30 1234\"\r\n");
        assert_eq!(row(&[Cell::Text("-2")]), "\"'-2\"\r\n");
        assert_eq!(row(&[Cell::Text("@SUM(A1)")]), "\"'@SUM(A1)\"\r\n");
        assert_eq!(row(&[Cell::Text("\t=1")]), "\"'\t=1\"\r\n");
        assert_eq!(row(&[Cell::Text("=\"x\",1")]), "\"'=\"\"x\"\",1\"\r\n");
        // Only the first character counts; numbers we write are not text.
        assert_eq!(row(&[Cell::Text("a=b"), Cell::Number(-5)]), "a=b,-5\r\n");
    }
}
