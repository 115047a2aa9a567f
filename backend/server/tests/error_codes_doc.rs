//! `docs/errors.md` lists exactly the codes of `ErrorCode::ALL`, in the same order, each with the
//! status `status_of` answers it with.

use tessera_domain::shared::ErrorCode;
use tessera_server::http::problem::status_of;

const ERRORS_MD: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"));

/// The `(status, code)` of every row of the table of codes: rows whose second cell is one
/// backticked name.
fn documented_codes() -> Vec<(String, String)> {
    ERRORS_MD
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().strip_prefix('|')?.split('|').collect();
            let status = cells.first()?.trim();
            let code = cells.get(1)?.trim().strip_prefix('`')?.strip_suffix('`')?;
            Some((status.to_owned(), code.to_owned()))
        })
        .collect()
}

#[test]
fn the_table_lists_every_code_once_in_the_order_of_the_domain() {
    let documented: Vec<String> = documented_codes().into_iter().map(|(_, c)| c).collect();
    let known: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let missing: Vec<&&str> = known
        .iter()
        .filter(|code| !documented.iter().any(|d| d == **code))
        .collect();
    let extra: Vec<&String> = documented
        .iter()
        .filter(|d| !known.contains(&d.as_str()))
        .collect();
    assert!(missing.is_empty(), "docs/errors.md lacks {missing:?}");
    assert!(
        extra.is_empty(),
        "docs/errors.md lists unknown codes {extra:?}"
    );
    assert_eq!(
        documented, known,
        "docs/errors.md must list each code once, in the order of ErrorCode::ALL"
    );
}

#[test]
fn each_row_states_the_status_its_code_answers_with() {
    for (status, code) in documented_codes() {
        let Some(known) = ErrorCode::ALL.iter().find(|c| c.as_str() == code) else {
            continue; // the test above names it
        };
        assert_eq!(
            status,
            status_of(*known).as_u16().to_string(),
            "the status of `{code}` in docs/errors.md"
        );
    }
}
